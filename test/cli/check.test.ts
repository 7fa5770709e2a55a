import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configYaml } from '../helpers/config-text.ts';
import { runCli } from '../helpers/cli.ts';

function tempConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sfcm-cli-')), 'bridge.yaml');
  writeFileSync(file, text);
  return file;
}

describe('sf-cm-bridge CLI', () => {
  it('check --config config/example.yaml exits 0 with a summary', async () => {
    const result = await runCli(['check', '--config', 'config/example.yaml']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('config/example.yaml: OK — 1 integration(s)');
    expect(result.stdout).toContain(
      'EmailMessage  (cdc /data/EmailMessageChangeEvent; where Incoming = true, backfill 30d)',
    );
    expect(result.stdout).toContain('fields: Id, SystemModstamp, CreatedDate, MessageDate');
    expect(result.stdout).toContain('CaseComment  (poll)');
    expect(result.stdout).toContain('warning: secrets.encryptionKey is the example key');
  });

  it('check exits 2 listing every problem, without a stack trace', async () => {
    const file = tempConfig(
      configYaml({ top: 'redis:\n  prefx: a\n' }).replace('server:\n', 'server:\n  port: ${NOPE_PORT}\n'),
    );
    const result = await runCli(['check', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      `${file}: redis.prefx: unknown key "prefx" (did you mean "prefix"?) (line 2)`,
      `${file}: server.port: environment variable NOPE_PORT is not set (and has no default: write \${NOPE_PORT:-default} to give one) (line 5)`,
    ]);
    expect(result.stderr).not.toMatch(/\bat .+\.ts:\d+/);
  });

  it('check reads BRIDGE_CONFIG when --config is absent', async () => {
    const file = tempConfig(configYaml());
    const result = await runCli(['check'], { BRIDGE_CONFIG: file });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${file}: OK`);
  });

  it('check defaults to config/bridge.yaml and says when it is missing', async () => {
    const result = await runCli(['check']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('config/bridge.yaml: file not found\n');
  });

  it('--help lists only built commands; each command has --help', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:\n {2}all +every role in one process/);
    for (const role of ['api', 'subscriber', 'worker']) expect(help.stdout).toMatch(new RegExp(`\\n {2}${role} +`));
    expect(help.stdout).toMatch(/\n {2}check +validate a config file/);
    expect(help.stdout).not.toMatch(/not implemented/i);
    const checkHelp = await runCli(['check', '--help']);
    expect(checkHelp.code).toBe(0);
    expect(checkHelp.stdout).toContain('Usage: sf-cm-bridge check [--config FILE]');
  });

  it('usage errors exit 2', async () => {
    const unknownCommand = await runCli(['frobnicate']);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command "frobnicate"');
    const unknownOption = await runCli(['check', '--bogus']);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--bogus'");
  });
});
