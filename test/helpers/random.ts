/**
 * Seeded randomness for tests: every random choice a test makes comes from `TEST_SEED` (a fixed
 * default), so a failure can be replayed exactly. Set TEST_SEED=<n> to explore other runs.
 */
export const TEST_SEED = Number(process.env.TEST_SEED ?? 20261128);

/** mulberry32: a small, fast PRNG with good statistical quality for test choices; uniform in [0, 1). */
export function seededRandom(seed: number = TEST_SEED): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
