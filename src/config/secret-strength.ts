/**
 * Are the bridge's own secrets strong enough? (docs/security.md, "Secrets"). `check` and every role
 * refuse a weak encryption key or admin token, because both guard everything else: the key decrypts
 * every stored Salesforce token, the admin token starts authorisations and reads the status page.
 */

/** How to make a good value, named in every refusal. */
export const GENERATE_HINT = 'generate one with: openssl rand -base64 32';

export const MIN_ADMIN_TOKEN_LENGTH = 32;
/** Distinct characters a long random token has many of; a repeated word or a keyboard run has few. */
const MIN_ADMIN_TOKEN_DISTINCT = 12;
/** 32 random bytes have ~28 distinct values; fewer than 16 happens by chance with negligible odds. */
const MIN_KEY_DISTINCT_BYTES = 16;

/** Why the 32-byte key is trivial (one repeated byte, a sequence, few distinct bytes), or undefined. */
export function encryptionKeyProblem(key: Buffer): string | undefined {
  if (key.length !== 32) return `must be 32 bytes in base64 (found ${key.length} bytes; ${GENERATE_HINT})`;
  const distinct = new Set(key).size;
  if (distinct === 1) return `is one byte repeated 32 times, not a key (${GENERATE_HINT})`;
  if (isSequence([...key])) return `is a counting sequence, not a key (${GENERATE_HINT})`;
  if (distinct < MIN_KEY_DISTINCT_BYTES)
    return `has only ${distinct} distinct bytes, a pattern rather than a random key (${GENERATE_HINT})`;
  return undefined;
}

/** Why the admin token is guessable (short, few distinct characters, a repeated pattern), or undefined. */
export function adminTokenProblem(token: string): string | undefined {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    return `is ${token.length} characters long; use at least ${MIN_ADMIN_TOKEN_LENGTH} random characters (${GENERATE_HINT})`;
  }
  const codes = Array.from(token, (char) => char.codePointAt(0) ?? 0);
  if (new Set(codes).size < MIN_ADMIN_TOKEN_DISTINCT || isSequence(codes) || repeatsPattern(token)) {
    return `is a pattern, not a random value (${GENERATE_HINT})`;
  }
  return undefined;
}

/** Every step the same (0,1,2,… or 9,8,7,…, modulo 256 for bytes). */
function isSequence(values: number[]): boolean {
  if (values.length < 3) return false;
  const step = ((values[1] ?? 0) - (values[0] ?? 0) + 256) % 256;
  return values.every((value, index) => index === 0 || (value - (values[index - 1] ?? 0) + 256) % 256 === step);
}

/** "abcdabcdabcd…": the whole value is one short part repeated. */
function repeatsPattern(text: string): boolean {
  for (let size = 1; size <= text.length / 3; size++) {
    const part = text.slice(0, size);
    if (part.repeat(Math.ceil(text.length / size)).slice(0, text.length) === text) return true;
  }
  return false;
}
