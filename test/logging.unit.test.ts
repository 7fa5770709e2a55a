import { describe, expect, it } from 'vitest';
import { loadConfigText, secretValues } from '../src/config/index.ts';
import { createLogger, REDACT_PATHS, SecretScrubber } from '../src/logging.ts';
import { configYaml } from './helpers/config-text.ts';

/** An in-memory destination: every line pino writes, parsed. */
function memoryDestination() {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

describe('logging – secrets never reach the output', () => {
  const config = loadConfigText(configYaml(), 'bridge.yaml', {});
  const secrets = secretValues(config);

  it('the redaction list covers every secret the schema declares', () => {
    expect(REDACT_PATHS).toEqual(
      expect.arrayContaining([
        'server.adminToken',
        'secrets.encryptionKey',
        'integrations[*].salesforce.clientSecret',
        'integrations[*].target.token',
        'config.integrations[*].target.token',
        'req.headers.authorization',
      ]),
    );
    expect(secrets).toEqual(
      expect.arrayContaining([
        'q9nH9NoISFw3riYpDUAakuuyUKt0vRYgPCQHBz2I',
        'client-secret-value',
        'cm-token-value',
        config.secrets.encryptionKey,
      ]),
    );
  });

  it('redacts secret paths, headers, whole configs and secret values inside messages', () => {
    const destination = memoryDestination();
    const scrubber = new SecretScrubber();
    scrubber.add(...secrets);
    const logger = createLogger({ destination, scrubber, level: 'debug' });
    const accessToken = '00Dxx0000001gPL!AR8AQJXgSuperSecretAccessToken';
    scrubber.add(accessToken);

    logger.info({ config }, 'loaded config');
    logger.info({ clientSecret: 'client-secret-value', token: 'cm-token-value' }, 'top-level keys');
    logger.info({ req: { headers: { authorization: `Bearer ${accessToken}` } } }, 'request');
    logger.info({ tokens: { access_token: accessToken, refresh_token: '5Aep861RefreshTokenValue' } }, 'token response');
    logger.error(
      { err: new Error(`refresh failed for ${accessToken} with secret client-secret-value`) },
      'refresh failed',
    );
    logger.warn(`admin token q9nH9NoISFw3riYpDUAakuuyUKt0vRYgPCQHBz2I in a message`);

    const output = destination.lines.join('');
    expect(destination.lines).toHaveLength(6);
    for (const secret of [...secrets, accessToken, '5Aep861RefreshTokenValue']) expect(output).not.toContain(secret);
    expect(output).toContain('[Redacted]');
    // What is not secret survives: the log stays useful.
    expect(output).toContain('cloud.example.com');
    expect(output).toContain('refresh failed');
  });

  it('scrubber – leaves short strings alone so ordinary words are not censored', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('abc', undefined, 'a-long-secret');
    expect(scrubber.scrub('abc a-long-secret')).toBe('abc [Redacted]');
  });
});
