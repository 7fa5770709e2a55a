export { loadConfigFile, loadConfigText, formatPath } from './load.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { changeEventChannel, redirectUri } from './names.ts';
export { secretPaths, secretValues } from './secrets.ts';
export type { BridgeConfig, IntegrationConfig, ObjectConfig } from './types.ts';
export { isLoopbackHost, DEFAULT_PUBSUB_URL, type Transport } from './schema.ts';
