/**
 * The root logger: pino, JSON lines by default and pretty output on a TTY. Secrets are kept out two
 * ways: known secret *paths* are redacted (schema secrets, tokens, Authorization headers), and every
 * known secret *value* is scrubbed from the final line, whatever field or error message carries it.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { secretPaths } from './config/secrets.ts';

export type { Logger } from 'pino';

const CENSOR = '[Redacted]';

/** Keys that hold a secret wherever they appear (one level of nesting, as fast-redact matches). */
const SECRET_KEYS = [
  'clientSecret',
  'client_secret',
  'token',
  'adminToken',
  'encryptionKey',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'password',
  'code_verifier',
  'codeVerifier',
  'authorization',
  'Authorization',
  'cookie',
];

/** Every redaction path: secret keys at the top and one level down, headers, and the schema's secret paths. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`]),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  ...secretPaths().flatMap((path) => {
    const redactPath = path.replaceAll('[]', '[*]');
    return [redactPath, `config.${redactPath}`];
  }),
];

/** Known secret values, replaced in every written line. Register tokens as soon as they are obtained. */
export class SecretScrubber {
  readonly #values = new Set<string>();

  add(...values: (string | undefined)[]): void {
    // Short strings would scrub ordinary words; real secrets are long.
    for (const value of values) if (value && value.length >= 6) this.#values.add(value);
  }

  scrub(text: string): string {
    let out = text;
    for (const value of this.#values) {
      if (out.includes(value)) out = out.split(value).join(CENSOR);
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value && out.includes(escaped)) out = out.split(escaped).join(CENSOR);
    }
    return out;
  }
}

export interface LoggerOptions {
  level?: string;
  /** Human-readable output; default: when stdout is a TTY. */
  pretty?: boolean;
  /** Where lines go (tests pass an in-memory stream); default stdout. */
  destination?: DestinationStream;
  scrubber?: SecretScrubber;
  /** Bindings on every line, e.g. `{ role: 'worker' }`. */
  base?: Record<string, string>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const scrubber = options.scrubber ?? new SecretScrubber();
  const usePretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY);
  const destination =
    options.destination ??
    (usePretty
      ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination(1));
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: options.base ?? {},
      redact: { paths: [...REDACT_PATHS], censor: CENSOR },
      hooks: { streamWrite: (line) => scrubber.scrub(line) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination,
  );
}
