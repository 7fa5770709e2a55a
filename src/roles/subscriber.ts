/**
 * The `subscriber` role: CDC streams for the authorised integrations, shared between the live
 * replicas, one replica streaming each (docs/subscriber.md). Composition only.
 */
import { Subscriber, type SubscriberOptions } from '../subscriber/subscriber.ts';
import type { Shutdown } from '../shutdown.ts';
import type { BridgeContext } from './context.ts';

export interface SubscriberRole {
  subscriber: Subscriber;
  /** Graceful: leave the replica set, then stop consuming, flush the buffer, disconnect, release the leases. */
  close(): Promise<void>;
}

export async function startSubscriberRole(
  context: BridgeContext,
  shutdown: Shutdown,
  options: SubscriberOptions = {},
): Promise<SubscriberRole> {
  const subscriber = new Subscriber(
    {
      config: context.config,
      logger: context.logger.child({ role: 'subscriber' }),
      redis: context.redis,
      tokens: context.tokens,
      queues: context.queues,
      deadLetters: context.deadLetters,
      metrics: context.metrics,
    },
    options,
  );
  await subscriber.start();
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= subscriber.close());
  shutdown.onShutdown('subscriber', close);
  return { subscriber, close };
}
