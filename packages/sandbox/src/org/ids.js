/**
 * Salesforce record Ids.
 *
 * A 15-character Id is case-sensitive: 3-char key prefix (`500` = Case), 2-char pod/instance,
 * 1 reserved char, then a 9-char base-62 counter (`0015f00002J9YaU`). The 18-character form appends
 * a 3-char suffix that encodes which of the 15 chars are uppercase, so the Id survives
 * case-insensitive systems (`0015f00002J9YaUAAV`).
 */
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_15 = /^[0-9A-Za-z]{15}$/;
const ID_18 = /^[0-9A-Za-z]{18}$/;
/** The "empty" Id Salesforce puts in `recordIds` of overflow events (docs/salesforce.md#overflow-events). */
export const EMPTY_ID = '000000000000000AAA';
/** The 3-char case-safe suffix Salesforce computes from a 15-char Id. */
export function checksumSuffix(id15) {
    if (!ID_15.test(id15))
        throw new Error(`not a 15-character Id: ${JSON.stringify(id15)}`);
    let suffix = '';
    for (let chunk = 0; chunk < 3; chunk++) {
        let bits = 0;
        for (let i = 0; i < 5; i++) {
            const ch = id15.charAt(chunk * 5 + i);
            if (ch >= 'A' && ch <= 'Z')
                bits |= 1 << i;
        }
        suffix += SUFFIX_ALPHABET.charAt(bits);
    }
    return suffix;
}
/** 18-char form of a 15- or 18-char Id (an 18-char Id is returned with its suffix recomputed). */
export function to18(id) {
    if (ID_18.test(id))
        return id.slice(0, 15) + checksumSuffix(id.slice(0, 15));
    return id + checksumSuffix(id);
}
export function isValidId(id) {
    if (typeof id !== 'string')
        return false;
    if (ID_15.test(id))
        return true;
    if (!ID_18.test(id))
        return false;
    // The suffix is case-insensitive by design: that is its whole purpose.
    return checksumSuffix(id.slice(0, 15)) === id.slice(15).toUpperCase();
}
/** The 3-char key prefix that names the object (`500…` → `500`). */
export function keyPrefixOf(id) {
    return id.slice(0, 3);
}
/** Whether two Ids (15 or 18 chars) name the same record. */
export function sameId(a, b) {
    return a.slice(0, 15) === b.slice(0, 15);
}
function toBase62(n, width) {
    let out = '';
    let rest = n;
    while (rest > 0) {
        out = BASE62.charAt(rest % 62) + out;
        rest = Math.floor(rest / 62);
    }
    return out.padStart(width, '0');
}
/** Creates 18-char Ids, one counter per key prefix, so Ids of one object sort by creation. */
export function createIdGenerator(opts = {}) {
    const pod = opts.pod ?? '5f';
    const start = opts.start ?? 2_400_000_000;
    const counters = new Map();
    return (keyPrefix) => {
        const next = (counters.get(keyPrefix) ?? start) + 1;
        counters.set(keyPrefix, next);
        return to18(keyPrefix + pod + '0' + toBase62(next, 9));
    };
}
