/** Batch planning: last version per id, bounds by count and bytes (docs/communications-mining.md#upsert-semantics-annotations-and-billing, #errors-retries-and-timeouts, #batching-and-retries-in-the-official-cli, #pitfall-10-the-batch-maximum-is-not-a-good-batch-size). */
import { describe, expect, it } from 'vitest';
import { chunk, lastVersionPerId, planSyncBatches, serializedBytes, syncBodyBytes } from '../../src/sink/batching.ts';
import type { Comment } from '../../src/model/comment.ts';

function comment(id: string, text = `Body of ${id}`): Comment {
  return { id, timestamp: '2024-03-05T14:22:10Z', messages: [{ body: { text } }] };
}

describe('lastVersionPerId (duplicates in one batch are undocumented)', () => {
  it('keeps the last version of each id, at its position, and counts the dropped copies', () => {
    const { comments, dropped } = lastVersionPerId([
      comment('a', 'v1'),
      comment('b'),
      comment('a', 'v2'),
      comment('c'),
    ]);
    expect(comments.map((c) => [c.id, c.messages[0]?.body.text])).toEqual([
      ['b', 'Body of b'],
      ['a', 'v2'],
      ['c', 'Body of c'],
    ]);
    expect(dropped).toBe(1);
  });
});

describe('planSyncBatches', () => {
  it('bounds by count (CLI default 128)', () => {
    const comments = Array.from({ length: 300 }, (_, i) => comment(`c${i}`));
    expect(planSyncBatches(comments, { maxComments: 128, maxBytes: 5 * 1024 * 1024 }).map((b) => b.length)).toEqual([
      128, 128, 44,
    ]);
  });

  it('bounds by serialized bytes, counting the envelope and commas exactly', () => {
    const comments = Array.from({ length: 10 }, (_, i) => comment(`c${i}`, 'x'.repeat(1000)));
    const maxBytes = syncBodyBytes(comments.slice(0, 3)); // exactly three fit
    const batches = planSyncBatches(comments, { maxComments: 128, maxBytes });
    expect(batches.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    for (const batch of batches)
      expect(Buffer.byteLength(JSON.stringify({ comments: batch }))).toBeLessThanOrEqual(maxBytes);
  });

  it('counts bytes as UTF-8, not characters', () => {
    const wide = comment('w', 'é'.repeat(100));
    expect(serializedBytes(wide)).toBe(Buffer.byteLength(JSON.stringify(wide)));
    expect(serializedBytes(wide)).toBeGreaterThan(JSON.stringify(wide).length);
  });

  it('sends a comment larger than maxBytes alone instead of dropping it', () => {
    const comments = [comment('a'), comment('big', 'x'.repeat(5000)), comment('b')];
    expect(planSyncBatches(comments, { maxComments: 128, maxBytes: 1000 }).map((b) => b.map((c) => c.id))).toEqual([
      ['a'],
      ['big'],
      ['b'],
    ]);
  });

  it('plans nothing for nothing and refuses nonsense limits', () => {
    expect(planSyncBatches([], { maxComments: 1, maxBytes: 1 })).toEqual([]);
    expect(() => planSyncBatches([], { maxComments: 0, maxBytes: 1 })).toThrow(RangeError);
  });
});

describe('chunk (delete batches ≤ 32)', () => {
  it('slices 70 ids into 32 + 32 + 6', () => {
    expect(
      chunk(
        Array.from({ length: 70 }, (_, i) => i),
        32,
      ).map((c) => c.length),
    ).toEqual([32, 32, 6]);
  });
});
