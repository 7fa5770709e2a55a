/**
 * The configuration reference (`docs/config.md`), rendered from the schema so that it cannot drift:
 * a test fails when the committed file differs ("run npm run docs").
 */
import { z } from 'zod';
import { ConfigSchema } from './schema.ts';

interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  /** Set with .meta() where zod cannot show the default (preprocessed and transformed fields). */
  shownDefault?: unknown;
  enum?: unknown[];
  format?: string;
  secret?: boolean;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  propertyNames?: Node;
  items?: Node;
  anyOf?: Node[];
  minimum?: number;
  maximum?: number;
}

interface Row {
  path: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
}

function typeOf(node: Node): string {
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.format === 'duration') return 'duration';
  if (node.anyOf) return node.anyOf.map(typeOf).join(' or ');
  if (node.type === 'array') return `list of ${node.items ? typeOf(node.items) : 'values'}`;
  if (
    node.type === 'object' &&
    node.additionalProperties &&
    typeof node.additionalProperties === 'object' &&
    !node.properties
  ) {
    return 'mapping';
  }
  return Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'value');
}

function walk(node: Node, path: string, required: boolean, rows: Row[]): void {
  const fallback = node.default ?? node.shownDefault;
  const isLeafish = node.type !== 'object' || (!node.properties && node.additionalProperties === undefined);
  if (path && (isLeafish || node.description)) {
    rows.push({
      path,
      type: typeOf(node),
      required: required && fallback === undefined,
      default:
        fallback === undefined ? '' : `\`${typeof fallback === 'string' ? fallback : JSON.stringify(fallback)}\``,
      description: `${node.secret || node.items?.secret ? '**Secret** (use `${VAR}`; never logged). ' : ''}${node.description ?? ''}`,
    });
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    walk(child, path ? `${path}.${key}` : key, (node.required ?? []).includes(key), rows);
  }
  if (node.items && node.items.type === 'object') walk(node.items, `${path}[]`, true, rows);
  if (
    node.additionalProperties &&
    typeof node.additionalProperties === 'object' &&
    node.additionalProperties.type === 'object'
  ) {
    walk(node.additionalProperties, `${path}.<name>`, true, rows);
  }
}

export function renderConfigReference(): string {
  const root = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Node;
  const rows: Row[] = [];
  walk(root, '', true, rows);
  const escape = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'A config file is YAML. `${VAR}` and `${VAR:-default}` are replaced from the environment before',
    'validation; unknown keys are errors. Durations are a number and a unit: `30s`, `5m`, `1h`, `30d`.',
    'Check a file with `npx sf-cm-bridge check --config FILE`. See `config/example.yaml` for a full example.',
    '',
    '| key | type | required | default | description |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| \`${r.path}\` | ${r.type} | ${r.required ? 'yes' : ''} | ${r.default} | ${escape(r.description)} |`,
    ),
    '',
  ].join('\n');
}
