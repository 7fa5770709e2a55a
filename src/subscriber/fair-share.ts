/**
 * How subscriber replicas share the integrations (docs/subscriber.md), as pure functions.
 *
 * - **Shares.** With N integrations and R live replicas in the order they joined, the oldest
 *   N mod R replicas stream ⌈N/R⌉ integrations and the others ⌊N/R⌋: the shares add up to N, and
 *   every replica computes all of them from the membership alone.
 * - **Moves.** A replica below its share takes free integrations, in its rendezvous
 *   (highest-random-weight) order; one above its share hands its excess over, the integrations it
 *   ranks lowest first.
 *
 * Giving the larger shares to the oldest replicas means a join never raises an older replica's
 * share and a death never lowers a survivor's: a newcomer gets exactly what the others hand over,
 * and a death moves only the dead replica's integrations. Assigning every integration to its
 * rendezvous winner instead would be as uneven as dice (30 integrations on 3 replicas give one of
 * them 14 now and then). Rendezvous order makes the choice deterministic and keeps replicas that
 * take at the same time from reaching for the same integrations.
 */
import { createHash } from 'node:crypto';

/** The most integrations any of `replicas` live replicas streams once they are balanced: ⌈N/R⌉. */
export function fairShare(integrations: number, replicas: number): number {
  return Math.ceil(integrations / Math.max(1, replicas));
}

/** The share of the replica at `index` in join order (0: the oldest) among `replicas`. */
export function shareAt(integrations: number, replicas: number, index: number): number {
  const live = Math.max(1, replicas);
  return Math.floor(integrations / live) + (index < integrations % live ? 1 : 0);
}

/** The rendezvous weight of `integration` for `replica`: uniform in [0, 2^48), the same in every process. */
export function rendezvousWeight(integration: string, replica: string): number {
  return createHash('sha256').update(integration).update('\n').update(replica).digest().readUIntBE(0, 6);
}

/**
 * `integrations` in the order `self` wants them: first those it wins among `replicas` (highest
 * weight first), then those it comes second for, and so on.
 */
export function preferenceOrder(integrations: readonly string[], self: string, replicas: readonly string[]): string[] {
  const others = replicas.filter((replica) => replica !== self);
  const ranked = integrations.map((integration) => {
    const weight = rendezvousWeight(integration, self);
    const rank = others.filter((replica) => rendezvousWeight(integration, replica) > weight).length;
    return { integration, rank, weight };
  });
  ranked.sort((a, b) => a.rank - b.rank || b.weight - a.weight || a.integration.localeCompare(b.integration));
  return ranked.map((entry) => entry.integration);
}

export interface ShareView {
  /** This replica's id. */
  self: string;
  /** The live replicas in the order they joined (oldest first); `self` is counted as the newest when missing. */
  replicas: readonly string[];
  /** Every integration the replicas share (this replica's `mode: cdc` integrations). */
  integrations: readonly string[];
  /** The integrations this replica streams now. */
  held: ReadonlySet<string>;
}

export interface SharePlan {
  share: number;
  /** Hand these over (the excess above the share), lowest-ranked first. */
  release: string[];
  /** Below the share: try these, in order, until the share is reached (only free ones can be taken). */
  candidates: string[];
}

/** What `self` should do now to move towards its share. */
export function planShare({ self, replicas, integrations, held }: ShareView): SharePlan {
  const live = replicas.includes(self) ? replicas : [...replicas, self];
  const share = shareAt(integrations.length, live.length, live.indexOf(self));
  if (held.size === share) return { share, release: [], candidates: [] };
  const order = preferenceOrder(integrations, self, live);
  if (held.size > share) {
    const worstFirst = order.filter((integration) => held.has(integration)).reverse();
    return { share, release: worstFirst.slice(0, held.size - share), candidates: [] };
  }
  return { share, release: [], candidates: order.filter((integration) => !held.has(integration)) };
}
