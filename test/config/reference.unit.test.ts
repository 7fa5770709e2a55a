import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from '../../src/config/reference.ts';

describe('docs/config.md', () => {
  it('is the reference generated from the schema (stale: run `npm run docs`)', () => {
    expect(readFileSync('docs/config.md', 'utf8')).toBe(renderConfigReference());
  });

  it('marks every secret field', () => {
    const secretRows = renderConfigReference()
      .split('\n')
      .filter((line) => line.includes('**Secret**'))
      .map((line) => line.split('|')[1]?.trim());
    expect(secretRows).toEqual([
      '`server.adminToken`',
      '`server.metricsToken`',
      '`secrets.encryptionKey`',
      '`secrets.previousEncryptionKeys`',
      '`integrations[].salesforce.clientSecret`',
      '`integrations[].target.token`',
    ]);
  });
});
