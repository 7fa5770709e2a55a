/**
 * The bin runs the compiled dist/ with plain node. The command list and `--help` load none of the
 * bridge's dependencies (that is what keeps them quick and small), and without a build the bin says
 * how to make one.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

const run = promisify(execFile);

/** Run the bin in `dir`; the exit code and both outputs, whatever the exit code. */
async function bin(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/sf-cm-bridge.js', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('the bin', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("answers --help and each command's --help from dist/ with no node_modules at all", async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfcm-bin-'));
    cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));

    const help = await bin(dir, ['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const command of ['all', 'api', 'subscriber', 'worker', 'backfill', 'check', 'health', 'sandbox', 'demo'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    for (const command of ['worker', 'health', 'backfill']) {
      const commandHelp = await bin(dir, [command, '--help']);
      expect(commandHelp).toMatchObject({ code: 0, stderr: '' });
      expect(commandHelp.stdout).toContain(`Usage: sf-cm-bridge ${command} `);
    }
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(await bin(dir, ['--version'])).toEqual({ code: 0, stdout: `sf-cm-bridge ${version}\n`, stderr: '' });
  });

  it('without dist/ says in one line to build, and exits 1', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfcm-bin-'));
    cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    expect(await bin(dir, ['--help'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sf-cm-bridge is not built: run `npm run build` (or `npm install`) in the repository\n',
    });
  });
});
