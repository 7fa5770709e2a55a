/** The config as the rest of the code sees it: typed, validated, derived, deep-frozen. */
import type { ParsedConfig } from './schema.ts';

type Integration = ParsedConfig['integrations'][number];
type ObjectEntry = Integration['objects'][string];

export interface ObjectConfig extends ObjectEntry {
  /** Object API name (`EmailMessage`, `Complaint__c`). */
  readonly name: string;
  /** SOQL field list derived from the mapping and `where` (always with Id, SystemModstamp, CreatedDate). */
  readonly fields: readonly string[];
  /** CDC channel (`/data/EmailMessageChangeEvent`); unused by `mode: poll` objects. */
  readonly channel: string;
}

export interface IntegrationConfig extends Omit<Integration, 'objects'> {
  /** `<project>/<name>`: unique, used in URLs, Redis keys and logs. */
  readonly key: string;
  readonly objects: readonly ObjectConfig[];
}

export interface BridgeConfig {
  /** The file it was loaded from (for messages). */
  readonly file: string;
  readonly redis: ParsedConfig['redis'];
  readonly server: ParsedConfig['server'];
  readonly worker: ParsedConfig['worker'];
  readonly secrets: ParsedConfig['secrets'];
  readonly integrations: readonly IntegrationConfig[];
  /** Secret fields written as literals in the file instead of `${VAR}` (`check` warns). */
  readonly inlineSecrets: readonly string[];
}
