/**
 * The `sf-cm-bridge` command line: parses argv, dispatches to a command, and turns known errors
 * into the contract's exit codes (0 ok, 2 bad config or usage, 1 anything else) without stack traces.
 */
import { parseArgs } from 'node:util';
import { BridgeError, ConfigError, UsageError } from '../errors.ts';
import { backfillCommand } from './backfill.ts';
import { checkCommand } from './check.ts';
import { healthCommand } from './health.ts';
import { migrateKeysCommand } from './migrate-keys.ts';
import { allCommand, apiCommand, subscriberCommand, workerCommand } from './roles.ts';
import { demoCommand } from './demo.ts';
import { sandboxCommand } from './sandbox.ts';
import { EXIT, type Command } from './command.ts';
import { bridgeVersion } from '../version.ts';

/** Every command that exists; only built commands are listed. */
export const COMMANDS: readonly Command[] = [
  allCommand,
  apiCommand,
  subscriberCommand,
  workerCommand,
  backfillCommand,
  checkCommand,
  healthCommand,
  migrateKeysCommand,
  sandboxCommand,
  demoCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'sf-cm-bridge — stream Salesforce changes into UiPath Communications Mining',
    '',
    'Usage: sf-cm-bridge <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `sf-cm-bridge <command> --help` for a command's options; `sf-cm-bridge --version` prints the version.",
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.help}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`sf-cm-bridge ${bridgeVersion()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`sf-cm-bridge: unknown command "${name}"\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: command.options,
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    return await command.run({ values: values as Record<string, string | boolean | undefined>, positionals });
  } catch (error) {
    return reportError(error, command);
  }
}

function reportError(error: unknown, command: Command): number {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof UsageError || isParseArgsError(error)) {
    process.stderr.write(`sf-cm-bridge ${command.name}: ${(error as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  if (error instanceof BridgeError) {
    process.stderr.write(`sf-cm-bridge ${command.name}: ${error.message}${error.hint ? `\n  → ${error.hint}` : ''}\n`);
    return EXIT.failure;
  }
  process.stderr.write(
    `sf-cm-bridge ${command.name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return EXIT.failure;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
