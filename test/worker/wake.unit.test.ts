import { describe, expect, it } from 'vitest';
import { WakeSignal } from '../../src/worker/wake.ts';

describe('WakeSignal', () => {
  it('wakes every sleeper at once, not only the last one to start sleeping', async () => {
    const wake = new WakeSignal();
    const started = performance.now();
    const sleepers = Array.from({ length: 4 }, () => wake.sleep(60_000));
    expect(wake.sleeping).toBe(4);
    wake.wakeAll();
    await Promise.all(sleepers);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(wake.sleeping).toBe(0);
  });

  it('a sleep that starts after a wake sleeps its time (waking is not sticky)', async () => {
    const wake = new WakeSignal();
    wake.wakeAll();
    const started = performance.now();
    await wake.sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });
});
