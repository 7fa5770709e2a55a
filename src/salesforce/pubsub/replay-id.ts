/**
 * Pub/Sub replay ids are opaque bytes (docs/salesforce.md#pubsub-subscribe-semantics): stored and sent
 * back unchanged, never compared or computed with. The bridge carries them as `0x` + hex, a text
 * form that keeps every byte, fits Redis hashes, job ids and logs, and can never be mistaken for a
 * CometD replay id (an integer).
 */

const PUBSUB_REPLAY_ID = /^0x(?:[0-9a-f]{2})+$/;

export function replayIdText(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

/** The bytes of a stored id, or undefined when `text` is not one (a CometD id, a corrupted value). */
export function replayIdBytes(text: string): Buffer | undefined {
  return PUBSUB_REPLAY_ID.test(text) ? Buffer.from(text.slice(2), 'hex') : undefined;
}

export function isPubsubReplayId(value: unknown): value is string {
  return typeof value === 'string' && PUBSUB_REPLAY_ID.test(value);
}
