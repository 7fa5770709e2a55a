/**
 * The config file's schema: one zod definition that validates, documents (`docs/config.md` is
 * generated from it) and marks secrets (the logger's redaction list comes from it).
 * Every object is strict: a typo must fail `check`, never pass silently.
 */
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { fieldPathProblem, isObjectName, OBJECTS_WITHOUT_CDC } from './names.ts';
import { adminTokenProblem, encryptionKeyProblem, GENERATE_HINT } from './secret-strength.ts';
import { whereProblem } from './where.ts';
import type { InterpolationProblem } from './interpolate.ts';

/** A secret value: never logged; must come from the environment in real deployments. */
function secret(description: string) {
  return z.string().min(1, 'must not be empty').meta({ secret: true, description });
}

/** A 32-byte AES key in base64, not a trivial pattern (src/config/secret-strength.ts). */
function encryptionKey(description: string) {
  return secret(description).superRefine((key, ctx) => {
    const problem = /^[A-Za-z0-9+/]+={0,2}$/.test(key)
      ? encryptionKeyProblem(Buffer.from(key, 'base64'))
      : `must be 32 bytes in base64 (${GENERATE_HINT})`;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** Hosts that may use plain http: traffic to them never leaves the machine (docs/security.md). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return (
    LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname.endsWith('.localhost')
  );
}

/** A duration string (`30s`, `5m`, `1h`, `30d`), parsed to milliseconds. */
function duration(description: string) {
  return z
    .string()
    .meta({ description, format: 'duration' })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is not a duration: use a number and a unit, e.g. 30s, 5m, 1h, 30d`,
        });
        return z.NEVER;
      }
      return ms;
    });
}

/** `${PORT:-8080}` arrives as a string after interpolation, so numbers and booleans accept their text form. */
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Salesforce's Pub/Sub API endpoint (docs/salesforce.md#pubsub-connection). */
export const DEFAULT_PUBSUB_URL = 'api.pubsub.salesforce.com:7443';
/** How change events reach the bridge (docs/pubsub.md#choosing-a-transport). */
export const TRANSPORTS = ['cometd', 'pubsub'] as const;
export type Transport = (typeof TRANSPORTS)[number];

function redisUrl(description: string) {
  return z
    .string()
    .regex(/^rediss?:\/\/[^/?#]+/, 'must be a redis:// or rediss:// URL')
    .meta({ description });
}

const integer = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
const boolean = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/**
 * An https:// URL; http:// only for loopback hosts, because these URLs carry the client secret,
 * Salesforce tokens and the Communications Mining token.
 */
const httpUrl = (description: string) =>
  z
    .string()
    .meta({ description })
    .superRefine((text, ctx) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an https:// URL' });
        return;
      }
      if (url.protocol === 'https:') return;
      if (url.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'must be an https:// URL' });
      else if (!isLoopbackHost(url.hostname)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be https:// (http:// is for loopback hosts only: it would carry secrets in clear to ${url.hostname})`,
        });
      }
    })
    // Normalise once here so nobody joins paths onto a trailing slash (`//cometd`, docs/salesforce.md#jsforce-streaming-client).
    .transform((text) => text.replace(/\/+$/, ''));

const fieldPath = z
  .string()
  .superRefine((path, ctx) => {
    const problem = fieldPathProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: 'A field API name or a relationship path such as Parent.CaseNumber' });

/** Property names the legacy Re:infer client rejected (docs/communications-mining.md#user-properties): avoid them. */
const RESERVED_PROPERTY_LABELS = new Set(['conversation', 'title', 'source']);

const propertyLabel = z
  .string()
  .min(1, 'a property label must not be empty')
  .max(128, 'a property label must be at most 128 characters')
  .refine((label) => label.trim() === label, 'a property label must not start or end with spaces')
  .refine(
    (label) => !/^(string|number):/.test(label),
    'write the label without a string:/number: prefix; the bridge adds it from the field type',
  )
  .refine(
    (label) => !RESERVED_PROPERTY_LABELS.has(label.toLowerCase()),
    'this property name is reserved in Communications Mining; pick another label',
  );

export const CommentMappingSchema = z
  .object({
    id: fieldPath.default('Id').meta({ description: 'Field whose value becomes the comment id (unprefixed)' }),
    timestamp: fieldPath
      .default('CreatedDate')
      .meta({ description: 'Datetime field for the comment timestamp; a null value falls back to CreatedDate' }),
    thread: fieldPath.optional().meta({ description: 'Field whose value becomes thread_id' }),
    subject: fieldPath.optional().meta({ description: 'Field for the message subject' }),
    body: z.union([fieldPath, z.array(fieldPath).min(1, 'list at least one body field')]).meta({
      description: 'Body field, or a list of fields: the first non-empty one is used; HTML is converted to text',
    }),
    from: fieldPath.optional().meta({ description: 'Field for the sender address' }),
    to: fieldPath.optional().meta({ description: 'Address list field, split on ; and ,' }),
    cc: fieldPath.optional().meta({ description: 'Address list field for cc, split on ; and ,' }),
    bcc: fieldPath.optional().meta({ description: 'Address list field for bcc, split on ; and ,' }),
    properties: z.record(propertyLabel, fieldPath).optional().meta({
      description: 'label → field: user_properties, number:<label> for numeric fields, string:<label> otherwise',
    }),
  })
  .strict();

export const ObjectSchema = z
  .object({
    mode: z.enum(['cdc', 'poll']).default('cdc').meta({
      description: 'cdc: Change Data Capture stream plus periodic reconciliation; poll: SOQL reconciliation only',
    }),
    where: z
      .string()
      .min(1)
      .max(4000)
      .superRefine((where, ctx) => {
        const problem = whereProblem(where);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .meta({ description: 'One SOQL condition; records outside it are not in the source (deleted from it)' }),
    backfill: duration('On first authorisation, load the records changed in this window (e.g. 30d)').optional(),
    comment: CommentMappingSchema,
  })
  .strict();

export const IntegrationSchema = z
  .object({
    project: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'use letters, digits, ".", "_" and "-" (it is part of the authenticate URL)')
      .meta({ description: 'Project name: the first part of the authenticate URL' }),
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,128}$/, 'use letters, digits, "_" and "-" (it is part of the authenticate URL)')
      .meta({ description: 'Integration name: the second part of the authenticate URL' }),
    salesforce: z
      .object({
        loginUrl: httpUrl('https://login.salesforce.com, https://test.salesforce.com or a My Domain URL')
          .default('https://login.salesforce.com')
          .meta({ shownDefault: 'https://login.salesforce.com' }),
        apiVersion: z
          .string()
          .regex(/^\d{2,3}\.0$/, 'write the API version as "62.0"')
          .refine((v) => Number(v) >= 37, 'CometD needs API version 37.0 or later')
          .default('62.0')
          .meta({ description: 'Salesforce API version for REST and CometD (37.0 or later)' }),
        clientId: z.string().min(1).meta({ description: 'External Client App (or Connected App) consumer key' }),
        clientSecret: secret('External Client App (or Connected App) consumer secret'),
        // New External Client Apps require PKCE by default (docs/salesforce-oauth.md).
        pkce: boolean.default(true).meta({
          description: 'Send a PKCE S256 challenge (false only for an app that does not accept PKCE)',
          shownDefault: true,
        }),
        transport: z.enum(TRANSPORTS).default('cometd').meta({
          description: 'How change events arrive: cometd (Streaming API) or pubsub (Pub/Sub API over gRPC)',
          shownDefault: 'cometd',
        }),
        pubsubUrl: z
          .string()
          .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/, 'write the endpoint as host:port')
          .default(DEFAULT_PUBSUB_URL)
          .meta({
            description:
              'Pub/Sub API endpoint host:port; TLS, except a loopback host (127.0.0.1, localhost), which is plaintext',
            shownDefault: DEFAULT_PUBSUB_URL,
          }),
      })
      .strict(),
    target: z
      .object({
        url: httpUrl('Communications Mining base URL; keep a path such as .../reinfer_'),
        token: secret('Communications Mining API token (a dedicated service user)'),
        project: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,1024}$/, 'not a valid Communications Mining project name')
          .meta({ description: 'Communications Mining project that owns the source' }),
        source: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,256}$/, 'not a valid Communications Mining source name')
          .meta({ description: 'Communications Mining source the comments go to' }),
      })
      .strict(),
    reconcile: z
      .object({
        every: duration('SOQL reconciliation period (also the poll period of mode: poll)').prefault('5m'),
        lookback: duration('How far before the watermark each reconciliation looks again (late commits)').prefault(
          '60s',
        ),
      })
      .strict()
      .prefault({}),
    backfill: z
      .object({
        bulkAbove: integer(0, 1_000_000_000).default(50_000).meta({
          description:
            'Objects with more records than this (counted with SOQL COUNT() first) are backfilled with a Bulk API 2.0 query job; at or below it, with REST query paging',
        }),
      })
      .strict()
      .prefault({}),
    objects: z
      .record(
        z.string().refine(isObjectName, {
          error: (issue) => `"${String(issue.input)}" is not a valid Salesforce object API name`,
        }),
        ObjectSchema,
      )
      .refine((objects) => Object.keys(objects).length > 0, 'declare at least one object')
      .meta({ description: 'Salesforce object API name → how its records become comments' }),
  })
  .strict();

export const ConfigSchema = z
  .object({
    redis: z
      .object({
        url: redisUrl('One Redis server (may carry a password: it is never logged)')
          .optional()
          .meta({ shownDefault: DEFAULT_REDIS_URL }),
        cluster: z
          .array(redisUrl('A seed node of the cluster'))
          .min(1, 'list at least one seed node')
          .optional()
          .meta({ description: 'Instead of url: seed node URLs of a Redis Cluster (the rest is discovered)' }),
        sentinel: z
          .object({
            name: z
              .string()
              .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'the master name the sentinels monitor')
              .meta({ description: 'Master name the sentinels monitor' }),
            nodes: z
              .array(redisUrl('A sentinel'))
              .min(1, 'list at least one sentinel')
              .meta({ description: "Sentinel URLs; a password in them is the data nodes' password too" }),
          })
          .strict()
          .optional()
          .meta({ description: 'Instead of url: Redis Sentinel, `{ name, nodes: [sentinel URLs] }`' }),
        prefix: z
          .string()
          .regex(
            /^[A-Za-z0-9_:.-]{1,64}$/,
            'use letters, digits and _ : . - (no braces: the bridge puts each integration in its own hash slot itself)',
          )
          .default('sfcm')
          .meta({ description: 'Key prefix of every key and queue of the bridge' }),
      })
      .strict()
      .superRefine((redis, ctx) => {
        const chosen = (['url', 'cluster', 'sentinel'] as const).filter((key) => redis[key] !== undefined);
        if (chosen.length > 1)
          ctx.addIssue({
            code: 'custom',
            message: `set exactly one of redis.url, redis.cluster and redis.sentinel (found ${chosen.join(', ')})`,
          });
      })
      .transform((redis) =>
        redis.cluster || redis.sentinel ? redis : { ...redis, url: redis.url ?? DEFAULT_REDIS_URL },
      )
      .prefault({}),
    server: z
      .object({
        host: z.string().min(1).default('0.0.0.0').meta({ description: 'Interface the api role listens on' }),
        port: integer(0, 65535).default(8080).meta({ description: 'Port the api role listens on', shownDefault: 8080 }),
        publicUrl: httpUrl('Public base URL; the OAuth redirect URI is <publicUrl>/external/salesforce/oauth2/callback')
          .default('http://localhost:8080')
          .meta({ shownDefault: 'http://localhost:8080' }),
        adminToken: secret('Bearer token for the admin API and the status page sign-in').superRefine((token, ctx) => {
          const problem = adminTokenProblem(token);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
        metricsToken: z
          .string()
          .refine(
            (token) => token === '' || token.length >= 16,
            'must be at least 16 characters (or empty for an open /metrics)',
          )
          .optional()
          .transform((token) => (token ? token : undefined))
          .meta({ secret: true, description: 'Optional: /metrics then needs Authorization: Bearer <metricsToken>' }),
        trustProxy: z
          .union([boolean, z.array(z.string().min(1)).min(1)])
          .default(false)
          .meta({
            description:
              'Trust X-Forwarded-* from a reverse proxy: true, or a list of proxy addresses/CIDRs. Only behind a proxy: it decides the client address rate limits use',
            shownDefault: false,
          }),
        sessionTtl: duration('How long a status-page sign-in lasts on the server').prefault('12h'),
      })
      .strict(),
    worker: z
      .object({
        concurrency: integer(1, 64)
          .default(4)
          .meta({ description: 'Batches a worker process handles at once', shownDefault: 4 }),
        batchSize: integer(1, 10_000)
          .default(1000)
          .meta({ description: 'Changes per batch: one bulk fetch per 200 of them', shownDefault: 1000 }),
        linger: duration(
          'How long a worker that found changes waits for more before it fetches, while it holds fewer than 500 (small bursts then cost one fetch and one push)',
        ).prefault('50ms'),
        jobLock: duration(
          'How long a crashed worker holds its jobs and records before another worker takes them over',
        ).prefault('60s'),
      })
      .strict()
      .prefault({})
      .meta({ description: 'Worker tuning (every worker process reads the same values)' }),
    secrets: z
      .object({
        encryptionKey: encryptionKey('32 bytes, base64: tokens are encrypted at rest with it'),
        previousEncryptionKeys: z.array(encryptionKey('A retired key, still accepted for reading')).default([]).meta({
          description:
            'Key rotation: tokens written with these keys are still read, and re-encrypted with encryptionKey on their next write',
        }),
      })
      .strict(),
    integrations: z
      .array(IntegrationSchema)
      .min(1, 'declare at least one integration')
      .meta({ description: 'One entry per Salesforce org → Communications Mining source' }),
  })
  .strict();

export type ConfigInput = z.input<typeof ConfigSchema>;
export type ParsedConfig = z.output<typeof ConfigSchema>;
export type CommentMapping = z.output<typeof CommentMappingSchema>;

/**
 * Rules that span several fields, checked on the raw (interpolated) input so that they are reported
 * together with every other problem: unique integration names, CDC only where Salesforce has it.
 */
export function crossFieldProblems(input: unknown): InterpolationProblem[] {
  const problems: InterpolationProblem[] = [];
  const integrations = (input as { integrations?: unknown } | null)?.integrations;
  if (!Array.isArray(integrations)) return problems;
  const seen = new Map<string, number>();
  integrations.forEach((integration: unknown, index) => {
    if (integration === null || typeof integration !== 'object') return;
    const { project, name, objects } = integration as { project?: unknown; name?: unknown; objects?: unknown };
    if (typeof project === 'string' && typeof name === 'string') {
      const key = `${project}/${name}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else
        problems.push({
          path: ['integrations', index, 'name'],
          message: `duplicate integration "${key}" (also integrations[${first}])`,
        });
    }
    if (objects === null || typeof objects !== 'object') return;
    for (const [objectName, object] of Object.entries(objects)) {
      const mode = (object as { mode?: unknown } | null)?.mode ?? 'cdc';
      if (OBJECTS_WITHOUT_CDC.has(objectName) && mode === 'cdc') {
        problems.push({
          path: ['integrations', index, 'objects', objectName, 'mode'],
          message: `${objectName} has no Change Data Capture in Salesforce: set mode: poll`,
        });
      }
    }
  });
  return problems;
}
