/** Config hardening: weak secrets, clear-text URLs, escaping `where`s and YAML alias attacks are config errors. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { configYaml, VALID_ADMIN_TOKEN, VALID_KEY } from '../helpers/config-text.ts';

function problemsOf(text: string): string {
  try {
    loadConfigText(text, 'bridge.yaml', {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected the config to be rejected');
}

const withKey = (key: string) => configYaml().replace(VALID_KEY, key);
const withAdminToken = (token: string) => configYaml().replace(VALID_ADMIN_TOKEN, token);
const withWhere = (where: string) =>
  configYaml({
    objects: `      EmailMessage:\n        where: ${JSON.stringify(where)}\n        comment: { body: TextBody }`,
  });

describe('encryption key', () => {
  it.each([
    ['one repeated byte', Buffer.alloc(32, 7).toString('base64'), 'one byte repeated'],
    ['all zero', Buffer.alloc(32, 0).toString('base64'), 'one byte repeated'],
    [
      'a counting sequence',
      Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64'),
      'counting sequence',
    ],
    ['few distinct bytes', Buffer.from('demo-only-key-demo-only-key-32b=').toString('base64'), 'distinct bytes'],
    ['16 bytes', Buffer.alloc(16, 1).toString('base64'), 'must be 32 bytes'],
  ])('refuses %s and says how to generate one', (_name, key, reason) => {
    const message = problemsOf(withKey(key));
    expect(message).toContain('secrets.encryptionKey');
    expect(message).toContain(reason);
    expect(message).toContain('openssl rand -base64 32');
  });

  it('accepts a random key', () => {
    expect(loadConfigText(configYaml(), 'bridge.yaml', {}).secrets.encryptionKey).toBe(VALID_KEY);
  });
});

describe('admin token', () => {
  it.each([
    ['16 characters', 'abcdefgh12345678', 'at least 32'],
    ['a repeated word', 'password'.repeat(5), 'a pattern'],
    ['few distinct characters', 'ab'.repeat(10) + 'ba'.repeat(10), 'a pattern'],
    ['a run of characters', Array.from({ length: 36 }, (_, i) => String.fromCharCode(48 + i)).join(''), 'a pattern'],
  ])('refuses %s and says how to generate one', (_name, token, reason) => {
    const message = problemsOf(withAdminToken(token));
    expect(message).toContain('server.adminToken');
    expect(message).toContain(reason);
    expect(message).toContain('openssl rand -base64 32');
    expect(message).not.toContain(token);
  });
});

describe('URLs', () => {
  it('refuses http:// to a remote host, which would carry secrets in clear', () => {
    const message = problemsOf(
      configYaml().replace('https://cloud.example.com/org/tenant/reinfer_/', 'http://cloud.example.com/reinfer_'),
    );
    expect(message).toMatch(
      /integrations\[0\]\.target\.url: must be https:\/\/ \(http:\/\/ is for loopback hosts only/,
    );
    expect(
      problemsOf(configYaml().replace('server:\n', 'server:\n  publicUrl: http://bridge.example.com\n')),
    ).toContain('server.publicUrl: must be https://');
  });

  it.each(['http://localhost:8080', 'http://127.0.0.1:9', 'http://[::1]:8080'])(
    'accepts http:// to the loopback host %s',
    (url) => {
      const text = configYaml().replace('https://cloud.example.com/org/tenant/reinfer_/', url);
      expect(loadConfigText(text, 'bridge.yaml', {}).integrations[0]?.target.url).toBe(url);
    },
  );
});

describe('where', () => {
  it.each([
    ["Id != null) OR (Name LIKE '%'", 'closes a parenthesis'],
    ['(Incoming = true', 'never closes'],
    ["Subject = 'open", 'never closed'],
    ['Incoming = true LIMIT 1', '"LIMIT"'],
    ['Incoming = true ORDER BY Id', '"ORDER BY"'],
    ['Incoming = true; DELETE', '";"'],
    ['Incoming = true OR', 'not a complete condition'],
  ])('refuses %s', (where, reason) => {
    const message = problemsOf(withWhere(where));
    expect(message).toContain('integrations[0].objects.EmailMessage.where');
    expect(message).toContain(reason);
  });

  it.each([
    "Incoming = true AND (Status = '3' OR Subject LIKE '%) OR (%')",
    "Subject = 'it\\'s (fine'",
    'CreatedDate = LAST_N_DAYS:30',
  ])('accepts the well-formed condition %s', (where) => {
    expect(loadConfigText(withWhere(where), 'bridge.yaml', {}).integrations[0]?.objects[0]?.where).toBe(where);
  });
});

describe('YAML alias attacks', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x]',
    ...'bcdefgh'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
  ].join('\n');
  const cycle = `${configYaml()}\nextra: &loop\n  again: *loop\n`;

  it('an alias cycle is a config error with its line', () => {
    expect(problemsOf(cycle)).toMatch(
      /bridge\.yaml: .*alias \*loop is inside the node it names \(an alias cycle\) \(line \d+\)/,
    );
  });

  it('an alias bomb is a config error, fast', () => {
    const started = Date.now();
    expect(problemsOf(bomb)).toMatch(/aliases expand too much \(an alias bomb\).*\(line 2\)/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('check exits 2 on either, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfcm-alias-'));
    for (const [name, text] of [
      ['cycle.yaml', cycle],
      ['bomb.yaml', bomb],
    ] as const) {
      writeFileSync(join(dir, name), text);
      const result = await runCli(['check', '--config', join(dir, name)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${name}:`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('check warnings', () => {
  it('warns about secrets written inline instead of ${VAR}', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfcm-inline-'));
    const file = join(dir, 'bridge.yaml');
    writeFileSync(file, configYaml().replace('cm-token-value', '${CM_TOKEN}'));
    const result = await runCli(['check', '--config', file], { CM_TOKEN: 'cm-token-from-env' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('warning: server.adminToken is written in the file');
    expect(result.stdout).toContain('warning: integrations[0].salesforce.clientSecret is written in the file');
    expect(result.stdout).not.toContain('integrations[0].target.token is written');
    expect(result.stdout).not.toContain(VALID_ADMIN_TOKEN);
  });
});
