/**
 * Address lists (`ToAddress`, `CcAddress`, `BccAddress`): one string in Salesforce, usually
 * `;`-separated (docs/salesforce.md#emailmessage). Split on `;` and `,`, trimmed, empties dropped,
 * order kept.
 */

/**
 * Splits an address list. A separator inside a quoted display name (`"Doe, Jane" <jane@x.example>`)
 * does not split: that comma is part of the name, and splitting there would send two broken addresses.
 */
export function splitAddresses(list: string): string[] {
  const addresses: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of list) {
    if (char === '"') quoted = !quoted;
    if (!quoted && (char === ';' || char === ',')) {
      addresses.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  addresses.push(current);
  return addresses.map(normaliseAddress).filter((address) => address !== '');
}

/** One address as sent: surrounding whitespace trimmed, inner whitespace runs (folded headers) made one space. */
export function normaliseAddress(address: string): string {
  return address.replace(/\s+/g, ' ').trim();
}
