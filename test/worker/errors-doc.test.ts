/** docs/errors.md lists every error code of the bridge with its reaction, and agrees with the failure policy. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKER_REACTIONS } from '../../src/worker/failure-policy.ts';
import { ROOT } from '../helpers/cli.ts';

const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');

/** Every `code = 'BRIDGE_ERR_…'` declared in src/. */
function declaredCodes(): string[] {
  const codes = new Set<string>();
  for (const entry of readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const match of text.matchAll(/\bcode = '(BRIDGE_ERR_[A-Z_]+)'/g)) codes.add(match[1] as string);
  }
  return [...codes].sort();
}

/** The first cell after the code in its table row. */
function documentedReaction(code: string): string | undefined {
  const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
  return row?.split('|')[2]?.trim();
}

describe('docs/errors.md', () => {
  it('names every error code declared in src/', () => {
    const codes = declaredCodes();
    expect(codes.length).toBeGreaterThan(20);
    expect(codes.filter((code) => documentedReaction(code) === undefined)).toEqual([]);
  });

  it('gives each worker code the reaction the failure policy applies', () => {
    for (const [code, kind] of Object.entries(WORKER_REACTIONS)) {
      const documented = documentedReaction(code);
      if (kind === 'depends') expect(documented, code).toMatch(/^(depends|retry; wait)/);
      else expect(documented?.split(/[ (]/)[0], code).toBe(kind);
    }
  });
});
