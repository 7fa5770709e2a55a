/**
 * Loading a config file: YAML → `${VAR}` interpolation → zod validation → derived field lists →
 * one deep-frozen `BridgeConfig`. Every problem is collected and reported at once, each as
 * `file: path.in.config: what is wrong (line N)`.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.ts';
import { deriveFieldList } from './fields.ts';
import { interpolate, type InterpolationProblem } from './interpolate.ts';
import { changeEventChannel } from './names.ts';
import { ConfigSchema, crossFieldProblems, type ParsedConfig } from './schema.ts';
import { inlineSecrets } from './secrets.ts';
import type { BridgeConfig, IntegrationConfig, ObjectConfig } from './types.ts';

type Path = (string | number)[];

/** Read and validate a config file. Throws `ConfigError` listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(file, [{ path: '', message: reason }]);
  }
  return loadConfigText(text, file, env);
}

/** Validate config text; `file` only labels the messages. */
export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => ({
        path: '',
        line: error.linePos?.[0].line,
        message: `invalid YAML: ${error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:$/, '')}`,
      })),
    );
  }
  const raw = documentValue(doc, lineCounter, file);
  if (raw === null || raw === undefined) throw new ConfigError(file, [{ path: '', message: 'the file is empty' }]);
  const lineOf = (path: Path) => lineOfPath(doc, lineCounter, path);

  const interpolationProblems: InterpolationProblem[] = [];
  const interpolated = interpolate(raw, env, interpolationProblems);
  const problems: ConfigProblem[] = interpolationProblems.map((p) => ({
    path: formatPath(p.path),
    line: lineOf(p.path),
    message: p.message,
  }));

  const result = ConfigSchema.safeParse(interpolated);
  if (!result.success) {
    // A value whose variable is missing fails validation too; its interpolation problem says enough.
    const unresolved = new Set(problems.map((p) => p.path));
    const schemaProblems = result.error.issues.flatMap((issue) => describeIssue(issue, interpolated, lineOf));
    problems.push(...schemaProblems.filter((p) => !unresolved.has(p.path)));
  }
  // Cross-field rules run on the raw input too, so they are reported even when other fields fail.
  problems.push(
    ...crossFieldProblems(interpolated).map((p) => ({
      path: formatPath(p.path),
      line: lineOf(p.path),
      message: p.message,
    })),
  );
  if (problems.length > 0 || !result.success) throw new ConfigError(file, sortProblems(problems));
  return deepFreeze(buildConfig(result.data, file, inlineSecrets(raw)));
}

/**
 * The document as plain data, refusing alias cycles and alias bombs (aliases that expand
 * exponentially) as config errors with their line, instead of a stack trace or a hang.
 */
function documentValue(doc: Document, lineCounter: LineCounter, file: string): unknown {
  const lineAt = (node: { range?: [number, number, number] | null | undefined }) =>
    node.range ? lineCounter.linePos(node.range[0]).line : undefined;
  const problems: ConfigProblem[] = [];
  let firstAlias: number | undefined;
  visit(doc, {
    Alias(_key, alias, path) {
      firstAlias ??= lineAt(alias);
      const target = alias.resolve(doc);
      if (target && path.includes(target)) {
        problems.push({
          path: '',
          line: lineAt(alias),
          message: `invalid YAML: alias *${alias.source} is inside the node it names (an alias cycle)`,
        });
      }
    },
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new ConfigError(file, [
      {
        path: '',
        line: firstAlias,
        message: 'invalid YAML: its aliases expand too much (an alias bomb); write the values out',
      },
    ]);
  }
}

/** yaml's guard: more alias expansions than this is a resource-exhaustion attempt, not a config. */
const MAX_ALIAS_EXPANSIONS = 100;

function buildConfig(parsed: ParsedConfig, file: string, inline: string[]): BridgeConfig {
  const integrations: IntegrationConfig[] = parsed.integrations.map((integration) => {
    const objects: ObjectConfig[] = Object.entries(integration.objects).map(([name, object]) => ({
      name,
      ...object,
      fields: deriveFieldList(object.comment, object.where),
      channel: changeEventChannel(name),
    }));
    return { ...integration, key: `${integration.project}/${integration.name}`, objects };
  });
  return {
    file,
    redis: parsed.redis,
    server: parsed.server,
    worker: parsed.worker,
    secrets: parsed.secrets,
    integrations,
    inlineSecrets: inline,
  };
}

function describeIssue(
  issue: z.core.$ZodIssue,
  input: unknown,
  lineOf: (path: Path) => number | undefined,
): ConfigProblem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const found = valueAt(input, path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: formatPath([...path, key]),
      line: lineOf([...path, key]),
      message: `unknown key "${key}"${suggestion(key, KNOWN_KEYS)}`,
    }));
  }
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message = found === undefined ? 'is required' : `expected ${issue.expected}, found ${describeValue(found)}`;
      break;
    case 'invalid_value':
      message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (found ${describeValue(found)})`;
      break;
    case 'invalid_key':
      message = issue.issues.map((inner) => inner.message).join('; ');
      break;
    case 'invalid_union':
      message =
        found === undefined
          ? 'is required'
          : `expected a field name or a list of field names, found ${describeValue(found)}`;
      break;
    default:
      message = issue.message;
  }
  return [{ path: formatPath(path), line: lineOf(path), message }];
}

/** Every key the schema knows, for "did you mean" hints on typos. */
const KNOWN_KEYS = [
  'redis',
  'url',
  'prefix',
  'server',
  'host',
  'port',
  'publicUrl',
  'adminToken',
  'metricsToken',
  'trustProxy',
  'sessionTtl',
  'secrets',
  'encryptionKey',
  'worker',
  'concurrency',
  'batchSize',
  'jobLock',
  'previousEncryptionKeys',
  'integrations',
  'project',
  'name',
  'salesforce',
  'loginUrl',
  'apiVersion',
  'clientId',
  'clientSecret',
  'pkce',
  'target',
  'token',
  'source',
  'reconcile',
  'every',
  'lookback',
  'objects',
  'mode',
  'where',
  'backfill',
  'bulkAbove',
  'comment',
  'id',
  'timestamp',
  'thread',
  'subject',
  'body',
  'from',
  'to',
  'cc',
  'bcc',
  'properties',
];

function suggestion(key: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 4))
    ? ` (did you mean "${best}"?)`
    : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(root: unknown, path: Path): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** `integrations[0].objects.Case.comment.properties["Case Number"]` */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** The 1-based line of the deepest part of `path` present in the document (a key's own line for mappings). */
function lineOfPath(doc: Document, lineCounter: LineCounter, path: Path): number | undefined {
  const lineAt = (node: unknown) => {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  for (let depth = path.length; depth >= 1; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const key = path[depth - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
      if (pair) return lineAt(pair.key);
    } else if (isSeq(parent) && typeof key === 'number') {
      const line = lineAt(parent.items[key]);
      if (line !== undefined) return line;
    }
  }
  return lineAt(doc.contents);
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
