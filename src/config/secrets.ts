/**
 * Which config values are secrets. Derived from the schema (fields made with `secret()`), so a new
 * secret field is redacted from logs the moment it is declared.
 */
import { z } from 'zod';
import { ConfigSchema } from './schema.ts';
import type { BridgeConfig } from './types.ts';

interface JsonSchemaNode {
  secret?: boolean;
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode | boolean;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  allOf?: JsonSchemaNode[];
}

/** Config paths of secret fields, `[]` for array items: `integrations[].target.token`. */
export function secretPaths(): string[] {
  const root = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const out: string[] = [];
  const walk = (node: JsonSchemaNode | undefined, path: string) => {
    if (!node) return;
    if (node.secret) out.push(path);
    for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, path ? `${path}.${key}` : key);
    if (node.items) walk(node.items, `${path}[]`);
    for (const child of [...(node.anyOf ?? []), ...(node.allOf ?? [])]) walk(child, path);
  };
  walk(root, '');
  return out;
}

/** The secret values of a loaded config, for scrubbing them out of any log line. */
export function secretValues(config: BridgeConfig): string[] {
  const values = [
    config.server.adminToken,
    ...(config.server.metricsToken ? [config.server.metricsToken] : []),
    config.secrets.encryptionKey,
    ...config.secrets.previousEncryptionKeys,
  ];
  for (const integration of config.integrations)
    values.push(integration.salesforce.clientSecret, integration.target.token);
  return values.filter((v) => v.length >= 6);
}

/**
 * Secret fields written as literal values in the file (not `${VAR}`): `check` warns about each,
 * because a config file is read, copied and committed more freely than the environment.
 * `raw` is the parsed YAML before interpolation.
 */
export function inlineSecrets(raw: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, parts: string[], shown: string) => {
    if (parts.length === 0) {
      if (typeof value === 'string' && value !== '' && !value.includes('${')) found.push(shown);
      return;
    }
    const [part, ...rest] = parts as [string, ...string[]];
    if (value === null || typeof value !== 'object') return;
    const list = part.endsWith('[]');
    const child = (value as Record<string, unknown>)[list ? part.slice(0, -2) : part];
    if (!list) {
      walk(child, rest, shown ? `${shown}.${part}` : part);
      return;
    }
    if (Array.isArray(child))
      child.forEach((item, index) => walk(item, rest, `${shown ? `${shown}.` : ''}${part.slice(0, -2)}[${index}]`));
  };
  for (const path of secretPaths()) walk(raw, path.split('.'), '');
  return found;
}
