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
  const values = [config.server.adminToken, config.secrets.encryptionKey, ...config.secrets.previousEncryptionKeys];
  for (const integration of config.integrations) values.push(integration.salesforce.clientSecret, integration.target.token);
  return values.filter((v) => v.length >= 6);
}
