/**
 * `sf-cm-bridge sandbox` (and what `demo.ts` shares with it). The sandbox is the development package
 * `@sf-cm-bridge/sandbox` (packages/sandbox/README.md): the published package and the image leave it out, so
 * these commands load it when they run and no other command or role ever does.
 */
import { UsageError } from '../errors.ts';
import { EXIT, type Command } from './command.ts';

const SANDBOX_PACKAGE = '@sf-cm-bridge/sandbox';

/** The org port `config/demo.yaml` expects (its SANDBOX_PORT default). */
export const DEMO_ORG_PORT = 8081;

type SandboxPackage = typeof import('@sf-cm-bridge/sandbox');

/**
 * The sandbox package, or undefined after one line on stderr saying how to get it when it is not
 * installed. Any other load failure (a broken install, a bug in the sandbox) is thrown as it is.
 */
export async function loadSandbox(command: string): Promise<SandboxPackage | undefined> {
  try {
    return await import('@sf-cm-bridge/sandbox');
  } catch (error) {
    if (!isPackageMissing(error, SANDBOX_PACKAGE)) throw error;
    process.stderr.write(
      `sf-cm-bridge ${command} needs the development package ${SANDBOX_PACKAGE}: run it from a clone of the repository after \`npm install\`\n`,
    );
    return undefined;
  }
}

/** Node's "Cannot find package '<name>' imported from …", not a module missing inside the package. */
function isPackageMissing(error: unknown, name: string): boolean {
  return (
    error instanceof Error &&
    (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    error.message.includes(`'${name}'`)
  );
}

/** What these commands use of the bridge, loaded when they run: the command list and `--help` stay light. */
export async function loadBridge() {
  const [{ loadConfigFile }, { createLogger }, { ROLE_NAMES, startRoles, untilSignal }, { Shutdown }] =
    await Promise.all([
      import('../config/index.ts'),
      import('../logging.ts'),
      import('../roles/run.ts'),
      import('../shutdown.ts'),
    ]);
  return { createLogger, loadConfigFile, ROLE_NAMES, Shutdown, startRoles, untilSignal };
}

export function intOption(
  value: string | boolean | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const parsed = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return parsed;
}

export const sandboxCommand: Command = {
  name: 'sandbox',
  summary: 'run the simulated Salesforce org and simulated Communications Mining',
  usage: 'sf-cm-bridge sandbox [--port N] [--activity RATE]',
  help: [
    'Runs the simulated Salesforce org (OAuth, REST with a SOQL subset, CometD Change Data',
    'Capture) on --port and a simulated Communications Mining on the next port, for offline work on',
    'mappings. Prints their URLs and the demo Connected App credentials.',
    '',
    'Options:',
    `  --port N          port of the org (default ${DEMO_ORG_PORT}); Communications Mining uses N+1`,
    '  --activity RATE   simulated email/case changes per minute (default 0)',
  ].join('\n'),
  options: { port: { type: 'string' }, activity: { type: 'string' } },
  async run({ values }) {
    const port = intOption(values.port, 'port', DEMO_ORG_PORT, 1, 65534);
    const activityPerMinute = intOption(values.activity, 'activity', 0, 0, 60_000);
    const sandboxPackage = await loadSandbox('sandbox');
    if (!sandboxPackage) return EXIT.usage;
    const { DEMO, startSandbox } = sandboxPackage;
    const { createLogger, Shutdown, untilSignal } = await loadBridge();
    const sandbox = await startSandbox({ port, activityPerMinute });
    const logger = createLogger({ base: { role: 'sandbox' } });
    const shutdown = new Shutdown(logger);
    shutdown.onShutdown('sandbox', () => sandbox.close());
    process.stdout.write(
      [
        'sf-cm-bridge sandbox',
        `  Salesforce org            ${sandbox.org.url}   (login URL and instance URL; control API under /_sandbox/sf)`,
        `  Communications Mining     ${sandbox.cm.url}   (control API: ${new URL(sandbox.cm.url).origin}/_sandbox/cm)`,
        `  Connected App             client id ${DEMO.clientId}`,
        `                            client secret ${DEMO.clientSecret}`,
        `                            callback ${DEMO.redirectUri}`,
        `  Login                     integration@sandbox.example.com / sandbox`,
        `  CM API token              ${DEMO.cmToken}   (project ${DEMO.cmProject}, source ${DEMO.cmSource})`,
        `  Activity                  ${activityPerMinute} changes per minute`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    return untilSignal(shutdown);
  },
};
