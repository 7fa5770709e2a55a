/** What every CLI command provides: its help text and a `run` that returns the exit code. */
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** `sf-cm-bridge check [--config FILE]` */
  usage: string;
  /** Longer help: what it does and each option. */
  help: string;
  options: OptionSpec;
  /** Whether positional arguments are accepted. */
  positionals?: boolean;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }): Promise<number>;
}

/** Exit codes of the contract: 0 ok, 1 other failure, 2 bad config or usage. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export const CONFIG_OPTION: OptionSpec = {
  config: { type: 'string', short: 'c' },
};

export const CONFIG_HELP = '  --config, -c FILE   config file (default: $BRIDGE_CONFIG, else config/bridge.yaml)';

/** The config file a command uses: --config, else $BRIDGE_CONFIG, else config/bridge.yaml. */
export function configPath(values: Record<string, string | boolean | undefined>): string {
  const fromFlag = values.config;
  if (typeof fromFlag === 'string' && fromFlag.length > 0) return fromFlag;
  return process.env.BRIDGE_CONFIG || 'config/bridge.yaml';
}
