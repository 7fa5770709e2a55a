/**
 * The `api` role: the Fastify server (OAuth routes, status page, admin API, health). Composition
 * only: build the app from the context, listen, register its close.
 */
import { BridgeError } from '../errors.ts';
import { buildApp, type BridgeApp } from '../server/app.ts';
import type { Shutdown } from '../shutdown.ts';
import type { BridgeContext } from './context.ts';

export class PortInUseError extends BridgeError {
  readonly code = 'BRIDGE_ERR_PORT_IN_USE';
}

export async function startApiRole(
  context: BridgeContext,
  shutdown: Shutdown,
): Promise<{ app: BridgeApp; url: string }> {
  let listening = false;
  const app = await buildApp({ ...context, readiness: () => ({ api: listening }) });
  const { host, port, publicUrl } = context.config.server;
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(
        `port ${port} on ${host} is already in use`,
        'stop the other process, or set server.port (PORT)',
      );
    }
    throw error;
  }
  listening = true;
  shutdown.onShutdown('api', () => app.close());
  context.logger.info({ host, port, publicUrl }, 'api listening');
  return { app, url: publicUrl };
}
