/**
 * A running bridge for the status-page tests: the integration authorised against the sandbox org,
 * the subscriber and worker roles streaming into the simulated Communications Mining, and the app
 * listening on a free port (for a real browser) as well as taking `inject`.
 */
import pino from 'pino';
import type { SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { startSubscriberRole } from '../../src/roles/subscriber.ts';
import { startWorkerRole } from '../../src/roles/worker.ts';
import { buildApp, type BridgeApp } from '../../src/server/app.ts';
import { Shutdown } from '../../src/shutdown.ts';
import { FAST, subscribed } from '../subscriber/harness.ts';
import type { BridgeHarness } from './bridge.ts';
import { startAuthorisedPipeline } from './pipeline.ts';
import { eventually } from './redis.ts';

export const CONSOLE_OBJECTS = `      EmailMessage:
        comment:
          subject: Subject
          body: TextBody
      Case:
        comment:
          subject: Subject
          body: Description`;

export interface ConsoleBridge {
  harness: BridgeHarness;
  cm: SimulatedCommunicationsMining;
  app: BridgeApp;
  /** Where the app listens. */
  url: string;
  /** Create `count` Cases and wait until the source holds them all; their ids. */
  syncCases(count: number, label?: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startConsoleBridge(): Promise<ConsoleBridge> {
  const { harness, cm } = await startAuthorisedPipeline({
    objects: CONSOLE_OBJECTS,
    cmToken: 'cm-console-token',
    org: { cometdTimeoutSeconds: 1 },
  });
  const shutdown = new Shutdown(pino({ level: 'silent' }));
  const app = await buildApp(harness.context);
  try {
    await startWorkerRole(harness.secondContext(), shutdown, { sinkRetry: { baseDelayMs: 10, maxDelayMs: 50 } });
    const subscriber = await startSubscriberRole(harness.context, shutdown, FAST);
    await subscribed(subscriber, ['/data/EmailMessageChangeEvent', '/data/CaseChangeEvent']);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    return {
      harness,
      cm,
      app,
      url,
      async syncCases(count, label = 'case') {
        const ids = Array.from({ length: count }, (_, i) =>
          String(harness.org.store.create('Case', { Subject: `${label} ${i}`, Description: `${label} body ${i}` }).Id),
        );
        await eventually(() => ids.every((id) => cm.control.comment('acme', 'emails', id)), 30_000, 100);
        return ids;
      },
      async close() {
        await app.close();
        await shutdown.run('test over');
        await harness.close();
        await cm.close();
      },
    };
  } catch (error) {
    await app.close();
    await shutdown.run('start failed');
    await harness.close();
    await cm.close();
    throw error;
  }
}
