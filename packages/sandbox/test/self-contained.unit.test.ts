/**
 * The package stands on its own: it imports nothing from the bridge (or anything else outside its
 * folder), and every package it imports is one its package.json declares.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

/** The specifier of every static import and dynamic `import()` of each TypeScript file under `dir`. */
function importsUnder(dir: string): Array<{ file: string; specifier: string }> {
  return readdirSync(join(PACKAGE_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .flatMap((entry) => {
      const file = join(entry.parentPath, entry.name);
      const text = readFileSync(file, 'utf8');
      return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)'([^']+)'/g)].map((match) => ({
        file,
        specifier: match[1] ?? '',
      }));
    });
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

describe('@sf-cm-bridge/sandbox is self-contained', () => {
  const imports = [...importsUnder('src'), ...importsUnder('test')];

  it('finds the imports it checks', () => {
    expect(imports.length).toBeGreaterThan(50);
  });

  it('every relative import stays inside the package', () => {
    const leaving = imports
      .filter(({ specifier }) => specifier.startsWith('.'))
      .filter(({ file, specifier }) => relative(PACKAGE_ROOT, resolve(dirname(file), specifier)).startsWith('..'));
    expect(leaving).toEqual([]);
  });

  it('src imports only node built-ins and its dependencies; tests may add devDependencies', () => {
    const declared = (file: string) =>
      new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...(relative(PACKAGE_ROOT, file).startsWith('test') ? Object.keys(manifest.devDependencies ?? {}) : []),
      ]);
    const undeclared = imports
      .filter(
        ({ specifier }) =>
          !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier),
      )
      .filter(({ file, specifier }) => !declared(file).has(packageName(specifier)))
      .map(({ file, specifier }) => `${relative(PACKAGE_ROOT, file)}: ${specifier}`);
    expect(undeclared).toEqual([]);
  });
});
