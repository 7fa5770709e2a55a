/**
 * Encryption at rest for OAuth tokens: AES-256-GCM, a random 96-bit IV per write, the integration
 * key as additional authenticated data (a record copied to another integration fails to decrypt),
 * and a key id so a rotated key can still read what its predecessor wrote.
 *
 * Envelope: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { BridgeError } from '../errors.ts';

export class TokenDecryptionError extends BridgeError {
  readonly code = 'BRIDGE_ERR_TOKENS_UNREADABLE';
}

interface Key {
  id: string;
  bytes: Buffer;
}

/** Short, non-secret identifier of a key: the first 8 hex chars of its SHA-256. */
export function keyId(keyBytes: Buffer): string {
  return createHash('sha256').update(keyBytes).digest('hex').slice(0, 8);
}

export class TokenCipher {
  readonly #current: Key;
  readonly #byId: Map<string, Key>;

  /** `currentKey` encrypts; `previousKeys` (base64) are only used to decrypt older records. */
  constructor(currentKey: string, previousKeys: readonly string[] = []) {
    const toKey = (base64: string): Key => {
      const bytes = Buffer.from(base64, 'base64');
      if (bytes.length !== 32) throw new TypeError('encryption keys must be 32 bytes');
      return { id: keyId(bytes), bytes };
    };
    this.#current = toKey(currentKey);
    this.#byId = new Map([this.#current, ...previousKeys.map(toKey)].map((key) => [key.id, key]));
  }

  get currentKeyId(): string {
    return this.#current.id;
  }

  encrypt(plaintext: string, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#current.bytes, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
    return ['v1', this.#current.id, ...parts].join('.');
  }

  /** Decrypts, and says whether the record should be re-encrypted with the current key. */
  decrypt(envelope: string, associatedData: string): { plaintext: string; stale: boolean } {
    const [version, id, iv, tag, ciphertext] = envelope.split('.');
    if (version !== 'v1' || !id || !iv || !tag || ciphertext === undefined) {
      throw new TokenDecryptionError(
        'stored tokens are not in a format this version can read',
        'authorise the integration again',
      );
    }
    const key = this.#byId.get(id);
    if (!key) {
      throw new TokenDecryptionError(
        `stored tokens were encrypted with key ${id}, which is neither secrets.encryptionKey nor in secrets.previousEncryptionKeys`,
        'add the old key to secrets.previousEncryptionKeys, or authorise the integration again',
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plaintext = Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
      return { plaintext, stale: key.id !== this.#current.id };
    } catch {
      throw new TokenDecryptionError(
        'stored tokens failed authentication (tampered, or stored for another integration)',
        'authorise the integration again',
      );
    }
  }
}
