/**
 * How subscriber replicas share the integrations (docs/subscriber.md), as pure rules: a simulated
 * deployment where a map of owners stands in for the leases, and every replica applies
 * `planShare` in turn, as its balancer does each tick once its excess has settled.
 */
import { describe, expect, it } from 'vitest';
import { fairShare, planShare, preferenceOrder, rendezvousWeight, shareAt } from '../../src/subscriber/fair-share.ts';
import { seededRandom } from '../helpers/random.ts';

const integrations = (n: number, tag = 'acme') => Array.from({ length: n }, (_, i) => `${tag}/integration-${i}`);

/** Integration → replica streaming it: the leases. */
type Owners = Map<string, string>;

function heldBy(owners: Owners, replica: string): Set<string> {
  return new Set([...owners].filter(([, owner]) => owner === replica).map(([integration]) => integration));
}

/** One round: each replica hands over its excess, then takes free integrations up to its share; false when nobody moved. */
function round(owners: Owners, replicas: readonly string[], all: readonly string[]): boolean {
  let changed = false;
  for (const self of replicas) {
    const plan = planShare({ self, replicas, integrations: all, held: heldBy(owners, self) });
    changed ||= plan.release.length > 0;
    for (const integration of plan.release) owners.delete(integration);
    let missing = plan.share - heldBy(owners, self).size;
    for (const integration of plan.candidates) {
      if (missing <= 0) break;
      if (owners.has(integration)) continue;
      owners.set(integration, self);
      missing -= 1;
      changed = true;
    }
  }
  return changed;
}

function converge(owners: Owners, replicas: readonly string[], all: readonly string[]): void {
  for (let i = 0; i < 10 && round(owners, replicas, all); i++);
}

function counts(owners: Owners, replicas: readonly string[]): number[] {
  return replicas.map((replica) => heldBy(owners, replica).size);
}

function moved(before: Owners, after: Owners): number {
  return [...before].filter(([integration, owner]) => after.get(integration) !== owner).length;
}

describe('fair share of subscriber replicas', () => {
  it('shares add up to N, the oldest replicas take the remainder, none is above ⌈N/R⌉', () => {
    const shares = (n: number, r: number) => Array.from({ length: r }, (_, i) => shareAt(n, r, i));
    expect(shares(30, 3)).toEqual([10, 10, 10]);
    expect(shares(30, 4)).toEqual([8, 8, 7, 7]);
    expect(shares(7, 5)).toEqual([2, 2, 1, 1, 1]);
    expect(shares(2, 3)).toEqual([1, 1, 0]);
    expect(shares(0, 2)).toEqual([0, 0]);
    expect([fairShare(30, 3), fairShare(30, 4), fairShare(31, 3), fairShare(30, 0)]).toEqual([10, 8, 11, 30]);
  });

  it('rendezvous weights are the same in every process and differ between replicas', () => {
    expect(rendezvousWeight('acme/emails', 'host:1:aa')).toBe(rendezvousWeight('acme/emails', 'host:1:aa'));
    expect(rendezvousWeight('acme/emails', 'host:1:aa')).not.toBe(rendezvousWeight('acme/emails', 'host:2:bb'));
  });

  it('each integration is first in the order of exactly one replica (its rendezvous winner)', () => {
    const all = integrations(50);
    const replicas = ['a', 'b', 'c', 'd'];
    const winners = new Map<string, string[]>();
    for (const self of replicas) {
      const order = preferenceOrder(all, self, replicas);
      expect([...order].sort()).toEqual([...all].sort());
      const won = order.filter((integration) =>
        replicas.every((other) => rendezvousWeight(integration, other) <= rendezvousWeight(integration, self)),
      );
      // The ones it wins lead its order.
      expect(order.slice(0, won.length)).toEqual(won);
      for (const integration of won) winners.set(integration, [...(winners.get(integration) ?? []), self]);
    }
    expect([...winners.values()].every((list) => list.length === 1)).toBe(true);
    expect(winners.size).toBe(all.length);
  });

  it('above the share, the excess handed over is what the replica ranks lowest', () => {
    const all = integrations(12);
    const replicas = ['a', 'b', 'c'];
    const plan = planShare({ self: 'a', replicas, integrations: all, held: new Set(all) });
    expect(plan.share).toBe(4);
    expect(plan.candidates).toEqual([]);
    expect(plan.release).toEqual(preferenceOrder(all, 'a', replicas).slice(4).reverse());
  });

  it('at its share a replica does nothing; below it, it tries the others in its order', () => {
    const all = integrations(6);
    const held = new Set(all.slice(0, 2));
    expect(planShare({ self: 'a', replicas: ['a', 'b', 'c'], integrations: all, held })).toEqual({
      share: 2,
      release: [],
      candidates: [],
    });
    const below = planShare({ self: 'a', replicas: ['a', 'b'], integrations: all, held });
    expect(below.share).toBe(3);
    expect(below.candidates).toEqual(preferenceOrder(all, 'a', ['a', 'b']).filter((i) => !held.has(i)));
  });

  it('rendezvous winners alone can exceed ⌈N/R⌉+1 by far; the share never does', () => {
    const replicas = ['a', 'b', 'c'];
    let worstWinners = 0;
    for (let set = 0; set < 30; set++) {
      const all = integrations(30, `set${set}`);
      const wins = replicas.map((self) => all.filter((i) => isWinner(i, self, replicas)).length);
      worstWinners = Math.max(worstWinners, ...wins);
      const owners: Owners = new Map();
      converge(owners, replicas, all);
      expect(Math.max(...counts(owners, replicas))).toBeLessThanOrEqual(10);
    }
    expect(worstWinners).toBeGreaterThan(11);
  });

  it('3 replicas, 30 integrations: staggered start, a death and a newcomer each end at ≤ ⌈N/R⌉, and the newcomer moves only its share', () => {
    const all = integrations(30);
    const owners: Owners = new Map();
    // The first replica alone takes everything; two more join.
    converge(owners, ['r1'], all);
    expect(counts(owners, ['r1'])).toEqual([30]);
    converge(owners, ['r1', 'r2', 'r3'], all);
    expect(counts(owners, ['r1', 'r2', 'r3'])).toEqual([10, 10, 10]);

    // r2 dies: its leases expire, the survivors' shares grow to 15.
    for (const integration of heldBy(owners, 'r2')) owners.delete(integration);
    const beforeDeath = new Map(owners);
    converge(owners, ['r1', 'r3'], all);
    expect(counts(owners, ['r1', 'r3'])).toEqual([15, 15]);
    expect(moved(beforeDeath, owners)).toBe(0);

    // r4 joins: the others hand over their excess (5 each), which is what r4 takes.
    const beforeJoin = new Map(owners);
    converge(owners, ['r1', 'r3', 'r4'], all);
    expect(counts(owners, ['r1', 'r3', 'r4'])).toEqual([10, 10, 10]);
    expect(moved(beforeJoin, owners)).toBe(10);
    expect(owners.size).toBe(30);
  });

  it('7 integrations, 4 replicas and a fifth: only what the newcomer takes moves (no older replica’s share grows)', () => {
    const all = integrations(7);
    const owners: Owners = new Map();
    converge(owners, ['a', 'b', 'c', 'd'], all);
    expect(counts(owners, ['a', 'b', 'c', 'd'])).toEqual([2, 2, 2, 1]);
    const before = new Map(owners);
    converge(owners, ['a', 'b', 'c', 'd', 'e'], all);
    expect(counts(owners, ['a', 'b', 'c', 'd', 'e'])).toEqual([2, 2, 1, 1, 1]);
    expect(moved(before, owners)).toBe(1);
  });

  it('any deployment: every integration streamed once, each replica at its share (≤ ⌈N/R⌉); a join moves exactly the newcomer’s share, a death only the dead replica’s', () => {
    const random = seededRandom();
    for (let run = 0; run < 60; run++) {
      const n = 1 + Math.floor(random() * 60);
      const all = integrations(n, `run${run}`);
      let replicas = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => `run${run}-r${i}`);
      const owners: Owners = new Map();
      const balanced = () => {
        expect(owners.size).toBe(n);
        expect(counts(owners, replicas)).toEqual(replicas.map((_, i) => shareAt(n, replicas.length, i)));
        expect(Math.max(...counts(owners, replicas))).toBeLessThanOrEqual(fairShare(n, replicas.length));
      };
      converge(owners, replicas, all);
      balanced();

      replicas = [...replicas, `run${run}-new`];
      const beforeJoin = new Map(owners);
      converge(owners, replicas, all);
      balanced();
      expect(moved(beforeJoin, owners)).toBe(shareAt(n, replicas.length, replicas.length - 1));

      const dead = replicas[Math.floor(random() * replicas.length)] ?? '';
      const orphans = heldBy(owners, dead).size;
      for (const integration of heldBy(owners, dead)) owners.delete(integration);
      replicas = replicas.filter((replica) => replica !== dead);
      if (replicas.length === 0) continue;
      const beforeDeath = new Map(owners);
      converge(owners, replicas, all);
      balanced();
      expect(moved(beforeDeath, owners)).toBe(0);
      expect(owners.size - beforeDeath.size).toBe(orphans);
    }
  });
});

function isWinner(integration: string, self: string, replicas: readonly string[]): boolean {
  return replicas.every((other) => rendezvousWeight(integration, other) <= rendezvousWeight(integration, self));
}
