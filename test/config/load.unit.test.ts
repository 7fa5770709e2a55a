import { describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigText } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { configYaml } from '../helpers/config-text.ts';

/** The formatted problem lines of an invalid config (fails the test if the config is valid). */
function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfigText(text, 'bridge.yaml', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n');
  }
  throw new Error('expected the config to be rejected');
}

describe('config loading', () => {
  it('accepts the shipped example and fills defaults', () => {
    const config = loadConfigFile('config/example.yaml', {});
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'sfcm' });
    expect(config.server.port).toBe(8080);
    const [integration] = config.integrations;
    expect(integration?.key).toBe('acme/salesforce-emails');
    expect(integration?.reconcile).toEqual({ every: 300_000, lookback: 60_000 });
    expect(integration?.objects.map((o) => [o.name, o.mode])).toEqual([
      ['EmailMessage', 'cdc'],
      ['CaseComment', 'poll'],
    ]);
  });

  it('returns one deep-frozen object', () => {
    const config = loadConfigText(configYaml(), 'bridge.yaml', {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.integrations[0]?.objects[0]?.fields)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('strips a trailing slash from URLs but keeps their path', () => {
    const config = loadConfigText(configYaml(), 'bridge.yaml', {});
    expect(config.integrations[0]?.target.url).toBe('https://cloud.example.com/org/tenant/reinfer_');
  });

  it('derives the CDC channel of standard and custom objects', () => {
    const config = loadConfigText(
      configYaml({
        objects: `      Case:
        comment: { body: Description }
      Complaint__c:
        comment: { body: Details__c }`,
      }),
      'bridge.yaml',
      {},
    );
    expect(config.integrations[0]?.objects.map((o) => o.channel)).toEqual([
      '/data/CaseChangeEvent',
      '/data/Complaint__ChangeEvent',
    ]);
  });
});

describe('environment interpolation', () => {
  const text = configYaml({ top: 'redis:\n  url: ${REDIS_URL:-redis://127.0.0.1:6379}\n  prefix: ${PREFIX}-x\n' });

  it('replaces ${VAR} and falls back to ${VAR:-default}', () => {
    const config = loadConfigText(text, 'bridge.yaml', { PREFIX: 'team' });
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'team-x' });
  });

  it('prefers the environment over the default', () => {
    const config = loadConfigText(text, 'bridge.yaml', { PREFIX: 'p', REDIS_URL: 'redis://cache:6380' });
    expect(config.redis.url).toBe('redis://cache:6380');
  });

  it('turns a numeric string into a number where a number is expected', () => {
    const config = loadConfigText(configYaml().replace('server:\n', 'server:\n  port: ${PORT:-9090}\n'), 'b.yaml', {});
    expect(config.server.port).toBe(9090);
  });

  it('keeps $${ as a literal ${', () => {
    const config = loadConfigText(
      configYaml({
        objects: `      Case:\n        where: "Subject = '$\${x}'"\n        comment: { body: Description }`,
      }),
      'b.yaml',
      {},
    );
    expect(config.integrations[0]?.objects[0]?.where).toBe("Subject = '${x}'");
  });

  it('names a missing variable, with the path and line that use it', () => {
    expect(problemsOf(text, {})).toEqual([
      'bridge.yaml: redis.prefix: environment variable PREFIX is not set (and has no default: write ${PREFIX:-default} to give one) (line 3)',
    ]);
  });
});

describe('config errors: every problem, as "file: path: what is wrong (line N)"', () => {
  it('unknown key, with a suggestion for a typo', () => {
    expect(problemsOf(configYaml({ top: 'redis:\n  prefx: a\n' }))).toEqual([
      'bridge.yaml: redis.prefx: unknown key "prefx" (did you mean "prefix"?) (line 2)',
    ]);
  });

  it('unknown key deep in a mapping', () => {
    const lines = problemsOf(
      configYaml({ objects: '      Case:\n        comment:\n          body: Description\n          subjet: Subject' }),
    );
    expect(lines).toEqual([
      'bridge.yaml: integrations[0].objects.Case.comment.subjet: unknown key "subjet" (did you mean "subject"?) (line 21)',
    ]);
  });

  it('bad duration', () => {
    const lines = problemsOf(
      configYaml().replace('    objects:', '    reconcile:\n      every: 5 minutes\n    objects:'),
    );
    expect(lines).toEqual([
      'bridge.yaml: integrations[0].reconcile.every: "5 minutes" is not a duration: use a number and a unit, e.g. 30s, 5m, 1h, 30d (line 18)',
    ]);
  });

  it('bad YAML reports the line', () => {
    expect(problemsOf('server:\n  port: [1,\nsecrets: x\n')).toEqual([
      expect.stringMatching(/^bridge\.yaml: invalid YAML: .+ \(line \d+\)$/),
    ]);
  });

  it('wrong type', () => {
    expect(problemsOf(configYaml().replace('server:\n', 'server:\n  port: eighty\n'))).toEqual([
      'bridge.yaml: server.port: expected number, found "eighty" (line 3)',
    ]);
  });

  it('missing required field', () => {
    expect(problemsOf(configYaml({ objects: '      Case:\n        comment:\n          subject: Subject' }))).toEqual([
      'bridge.yaml: integrations[0].objects.Case.comment.body: is required (line 19)',
    ]);
  });

  it('duplicate integration', () => {
    const second = `  - project: acme
    name: emails
    salesforce: { clientId: a, clientSecret: b }
    target: { url: "https://x.reinfer.io", token: t, project: acme, source: s }
    objects: { Case: { comment: { body: Description } } }`;
    expect(problemsOf(configYaml({ extraIntegration: second }))).toEqual([
      'bridge.yaml: integrations[1].name: duplicate integration "acme/emails" (also integrations[0]) (line 22)',
    ]);
  });

  it.each([
    [
      'Email Message',
      'bridge.yaml: integrations[0].objects["Email Message"]: "Email Message" is not a valid Salesforce object API name (line 18)',
    ],
    [
      'Bad__Name__c__x',
      'bridge.yaml: integrations[0].objects.Bad__Name__c__x: "Bad__Name__c__x" is not a valid Salesforce object API name (line 18)',
    ],
  ])('invalid object name %j', (name, expected) => {
    expect(problemsOf(configYaml({ objects: `      "${name}":\n        comment: { body: Description }` }))).toEqual([
      expected,
    ]);
  });

  it.each([
    [
      'Parent..CaseNumber',
      '"Parent..CaseNumber" is not a valid field name or relationship path ("" is not an API name)',
    ],
    ['Text Body', '"Text Body" is not a valid field name or relationship path ("Text Body" is not an API name)'],
    ['Case__r', '"Case__r" ends in a relationship ("Case__r"): name a field of it, e.g. Case__r.Name'],
    ['Case__c.Name', '"Case__c.Name" uses the field "Case__c" as a relationship: use its relationship name (Case__r)'],
    ['A.B.C.D.E.F.G', '"A.B.C.D.E.F.G" goes 6 relationships deep; Salesforce allows 5'],
  ])('invalid field name %j', (field, message) => {
    expect(problemsOf(configYaml({ objects: `      Case:\n        comment: { body: "${field}" }` }))).toEqual([
      `bridge.yaml: integrations[0].objects.Case.comment.body: ${message} (line 19)`,
    ]);
  });

  it('property labels: no type prefix, no reserved names', () => {
    const lines = problemsOf(
      configYaml({
        objects:
          '      Case:\n        comment:\n          body: Description\n          properties:\n            "string:Status": Status\n            Title: Subject',
      }),
    );
    expect(lines).toEqual([
      'bridge.yaml: integrations[0].objects.Case.comment.properties["string:Status"]: write the label without a string:/number: prefix; the bridge adds it from the field type (line 22)',
      'bridge.yaml: integrations[0].objects.Case.comment.properties.Title: this property name is reserved in Communications Mining; pick another label (line 23)',
    ]);
  });

  it('an object without CDC must be polled', () => {
    expect(problemsOf(configYaml({ objects: '      CaseComment:\n        comment: { body: CommentBody }' }))).toEqual([
      'bridge.yaml: integrations[0].objects.CaseComment.mode: CaseComment has no Change Data Capture in Salesforce: set mode: poll (line 18)',
    ]);
  });

  it('secrets are validated without echoing them', () => {
    const lines = problemsOf(configYaml().replace(/encryptionKey: .*/, 'encryptionKey: not-a-real-key-at-all'));
    expect(lines).toEqual([
      'bridge.yaml: secrets.encryptionKey: must be 32 bytes in base64 (generate one with: openssl rand -base64 32) (line 5)',
    ]);
  });

  it('redis: one server, a cluster or a sentinel, exactly one of them', () => {
    const cluster = loadConfigText(
      configYaml({ top: 'redis:\n  cluster: [redis://10.0.0.1:7000, "redis://:pw@10.0.0.2:7000"]\n' }),
      'bridge.yaml',
      {},
    );
    expect(cluster.redis).toEqual({ cluster: ['redis://10.0.0.1:7000', 'redis://:pw@10.0.0.2:7000'], prefix: 'sfcm' });
    const sentinel = loadConfigText(
      configYaml({ top: 'redis:\n  sentinel: { name: mymaster, nodes: [redis://10.0.0.1:26379] }\n' }),
      'bridge.yaml',
      {},
    );
    expect(sentinel.redis).toEqual({
      sentinel: { name: 'mymaster', nodes: ['redis://10.0.0.1:26379'] },
      prefix: 'sfcm',
    });
    expect(
      problemsOf(configYaml({ top: 'redis:\n  url: redis://a:6379\n  cluster: [redis://b:6379]\n' })).join('\n'),
    ).toContain('set exactly one of redis.url, redis.cluster and redis.sentinel (found url, cluster)');
    expect(problemsOf(configYaml({ top: 'redis:\n  cluster: []\n' })).join('\n')).toContain(
      'redis.cluster: list at least one seed node',
    );
    expect(problemsOf(configYaml({ top: 'redis:\n  sentinel: { nodes: [redis://a:26379] }\n' })).join('\n')).toContain(
      'redis.sentinel.name',
    );
  });

  it('redis.prefix: braces are refused, the bridge tags each integration itself', () => {
    expect(problemsOf(configYaml({ top: 'redis:\n  prefix: "{sfcm}"\n' })).join('\n')).toContain(
      'no braces: the bridge puts each integration in its own hash slot itself',
    );
  });

  it('reports every problem at once, in file order', () => {
    const text = configYaml({ top: 'redis:\n  url: http://x\n' })
      .replace('server:\n', 'server:\n  port: 99999\n')
      .replace('          body: TextBody', '          body: TextBody\n          bogus: 1');
    expect(problemsOf(text)).toEqual([
      'bridge.yaml: redis.url: must be a redis:// or rediss:// URL (line 2)',
      expect.stringMatching(/^bridge\.yaml: server\.port: .*65535.* \(line 5\)$/),
      'bridge.yaml: integrations[0].objects.EmailMessage.comment.bogus: unknown key "bogus" (line 24)',
    ]);
  });

  it('a missing file is a config error naming the file', () => {
    expect(() => loadConfigFile('config/does-not-exist.yaml', {})).toThrow(
      'config/does-not-exist.yaml: file not found',
    );
  });
});
