/**
 * Salesforce API names as they appear in config: object names, field names and relationship paths.
 * Checked offline (syntax only); `check --online` asks the org whether they exist.
 */

/**
 * One API name: starts with a letter, letters/digits/single underscores, no trailing underscore,
 * optionally a namespace (`ns__`) and a custom suffix (`__c`, `__r` for relationships…).
 */
const API_NAME = /^(?:[A-Za-z][A-Za-z0-9]*__)?[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?:__(?:c|r|e|x|b|mdt))?$/;
const TRAILING_UNDERSCORE = /_$/;

/** Salesforce allows at most five levels of parent relationships in one path. */
export const MAX_RELATIONSHIP_DEPTH = 5;

export function isApiName(text: string): boolean {
  return text.length <= 80 && API_NAME.test(text) && !TRAILING_UNDERSCORE.test(text);
}

export function isObjectName(text: string): boolean {
  return isApiName(text) && !/__r$/.test(text);
}

/** What is wrong with a field path like `Parent.CaseNumber`, or undefined when it is valid. */
export function fieldPathProblem(path: string): string | undefined {
  const segments = path.split('.');
  if (segments.length - 1 > MAX_RELATIONSHIP_DEPTH) {
    return `"${path}" goes ${segments.length - 1} relationships deep; Salesforce allows ${MAX_RELATIONSHIP_DEPTH}`;
  }
  for (const [index, segment] of segments.entries()) {
    const isLast = index === segments.length - 1;
    if (!isApiName(segment))
      return `"${path}" is not a valid field name or relationship path ("${segment}" is not an API name)`;
    if (isLast && /__r$/.test(segment))
      return `"${path}" ends in a relationship ("${segment}"): name a field of it, e.g. ${segment}.Name`;
    if (!isLast && /__c$/.test(segment))
      return `"${path}" uses the field "${segment}" as a relationship: use its relationship name (${segment.slice(0, -3)}__r)`;
  }
  return undefined;
}

/** The CDC channel of an object: `/data/CaseChangeEvent`, custom `Foo__c` → `/data/Foo__ChangeEvent`. */
export function changeEventChannel(objectName: string): string {
  const base = objectName.endsWith('__c') ? objectName.slice(0, -1) : objectName;
  return `/data/${base}ChangeEvent`;
}

/** Standard objects that have no Change Data Capture (docs/salesforce.md#cdc-supported-objects): they can only be polled. */
export const OBJECTS_WITHOUT_CDC: ReadonlySet<string> = new Set(['CaseComment', 'FeedItem', 'FeedComment']);

/** `<publicUrl>/external/salesforce/oauth2/callback`: must match the app's Callback URL byte for byte. */
export function redirectUri(publicUrl: string): string {
  return `${publicUrl}/external/salesforce/oauth2/callback`;
}
