/**
 * Describe metadata per integration, cached and refreshed periodically so that new fields and
 * picklist values appear without a restart. Loads an object's describe and, for each relationship
 * path its mapping uses, the describes of the objects along that path (to type parent fields).
 */
import { findRelationship, parseDescribe, type DescribeLookup, type ObjectDescribe } from './describe.ts';
import type { SalesforceRestClient } from './rest-client.ts';

/** Default refresh period of cached describes. */
export const DESCRIBE_TTL_MS = 15 * 60 * 1000;
/** Polymorphic references can point at dozens of objects; describe at most this many per hop. */
const MAX_TARGETS_PER_HOP = 5;

interface Entry {
  describe: ObjectDescribe | undefined;
  loadedAt: number;
}

export class DescribeCache {
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<ObjectDescribe | undefined>>();

  constructor(
    private readonly rest: SalesforceRestClient,
    private readonly ttlMs = DESCRIBE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Make sure the object and every object along `paths` are described; returns the lookup. */
  async ensure(objectName: string, paths: readonly string[]): Promise<DescribeLookup> {
    const root = await this.#get(objectName);
    if (root) {
      for (const path of paths) {
        const relationships = path.split('.').slice(0, -1);
        let level: ObjectDescribe[] = [root];
        for (const relationship of relationships) {
          const next: ObjectDescribe[] = [];
          for (const describe of level) {
            const reference = findRelationship(describe, relationship);
            for (const target of (reference?.referenceTo ?? []).slice(0, MAX_TARGETS_PER_HOP)) {
              // A target the user cannot describe only loses typing of that property, not the record.
              const loaded = await this.#get(target).catch(() => undefined);
              if (loaded) next.push(loaded);
            }
          }
          level = next;
        }
      }
    }
    return (name) => this.#entries.get(name.toLowerCase())?.describe;
  }

  async #get(objectName: string): Promise<ObjectDescribe | undefined> {
    const key = objectName.toLowerCase();
    const entry = this.#entries.get(key);
    if (entry && this.now() - entry.loadedAt < this.ttlMs) return entry.describe;
    let loading = this.#loading.get(key);
    if (!loading) {
      loading = this.rest
        .describe(objectName)
        .then((json) => parseDescribe(json))
        .catch((error: unknown) => {
          // A stale describe beats none: keep the old one when a refresh fails.
          if (entry) return entry.describe;
          throw error;
        })
        .finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    const describe = await loading;
    this.#entries.set(key, { describe, loadedAt: this.now() });
    return describe;
  }
}
