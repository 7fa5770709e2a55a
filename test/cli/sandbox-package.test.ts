/**
 * The sandbox is the development package @sf-cm-bridge/sandbox: the published package and the image
 * leave it out, only `sandbox` and `demo` load it, lazily, and without it they say how to get it.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

const run = promisify(execFile);
const SANDBOX_PACKAGE = '@sf-cm-bridge/sandbox';
const MISSING_LINE = (command: string) =>
  `sf-cm-bridge ${command} needs the development package ${SANDBOX_PACKAGE}: run it from a clone of the repository after \`npm install\`\n`;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The files `npm pack` puts in the published package, relative to the repository root. */
async function packedFiles(): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
  const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  return (pack?.files ?? []).map((file) => file.path);
}

describe('the sandbox package stays out of the product', () => {
  it('no module under src/ names the sandbox except the sandbox and demo commands, and they import it dynamically', () => {
    const naming = sourceFiles(join(ROOT, 'src')).filter((file) => {
      const text = readFileSync(file, 'utf8');
      return text.includes(SANDBOX_PACKAGE) || /['"](\.\.\/)+packages\//.test(text);
    });
    expect(naming.map((file) => relative(ROOT, file))).toEqual(['src/cli/sandbox.ts']);
    const cli = readFileSync(join(ROOT, 'src/cli/sandbox.ts'), 'utf8');
    expect(cli).not.toMatch(/from\s+['"]@sf-cm-bridge\/sandbox/);
    expect(cli).toContain(`await import('${SANDBOX_PACKAGE}')`);
  });

  it('the bridge lists the sandbox as a devDependency only', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    expect(manifest.devDependencies?.[SANDBOX_PACKAGE]).toBeDefined();
    expect(manifest.dependencies?.[SANDBOX_PACKAGE]).toBeUndefined();
  });

  it('the Dockerfile copies no workspace package into the image', () => {
    const copied = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => /^COPY\s/.test(line))
      .flatMap((line) => line.trim().split(/\s+/).slice(1, -1));
    expect(copied.length).toBeGreaterThan(0);
    expect(copied.filter((source) => source === '.' || source.startsWith('packages'))).toEqual([]);
  });

  describe('installed from the published package, without the sandbox', () => {
    let installed: string;

    // The published files plus the bridge's installed dependencies, minus the workspace packages:
    // what `npm install sf-cm-bridge` or the image holds.
    beforeAll(async () => {
      const files = await packedFiles();
      expect(files).toContain('dist/cli/sandbox.js');
      expect(files.filter((file) => file.startsWith('packages/'))).toEqual([]);
      installed = mkdtempSync(join(tmpdir(), 'sfcm-packed-'));
      for (const file of files) {
        mkdirSync(dirname(join(installed, file)), { recursive: true });
        cpSync(join(ROOT, file), join(installed, file));
      }
      mkdirSync(join(installed, 'node_modules'));
      for (const name of readdirSync(join(ROOT, 'node_modules'))) {
        if (name === '@sf-cm-bridge') continue;
        symlinkSync(join(ROOT, 'node_modules', name), join(installed, 'node_modules', name));
      }
    });

    afterAll(() => {
      rmSync(installed, { recursive: true, force: true });
    });

    async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      const env = { PATH: process.env.PATH, HOME: process.env.HOME };
      try {
        const { stdout, stderr } = await run(process.execPath, ['bin/sf-cm-bridge.js', ...args], {
          cwd: installed,
          env,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        // execFile rejects on a non-zero exit, with the exit code and both outputs on the error.
        const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
        return { code, stdout, stderr };
      }
    }

    it.each(['sandbox', 'demo'])('%s says in one line how to get the sandbox and exits 2', async (command) => {
      const result = await cli([command]);
      expect(result).toMatchObject({ code: 2, stdout: '', stderr: MISSING_LINE(command) });
    });

    it('sandbox --help still answers', async () => {
      const result = await cli(['sandbox', '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('--port N          port of the org (default 8081)');
    });
  });
});
