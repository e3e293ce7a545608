/**
 * The in-memory prompt cache of one client: entries by key, and at most one fetch in flight
 * per key. Keys are (slug, version): version undefined is "the version active in the API
 * key's environment" (the key decides the environment, so one client never mixes two), a
 * number is a pinned version. Keys are compared whole: invalidating "foo" never touches
 * "foobar".
 */

import type { Prompt } from "./prompt.js";

/** One cached prompt; replaced whole, never changed in place. `expires` is a clock
 * reading in ms (Infinity for pinned versions); `etag` is sent back as If-None-Match. */
export interface Entry {
  readonly prompt: Prompt;
  readonly expires: number;
  readonly etag: string | null;
}

/** What a fetch came to: a prompt to serve, an error to throw, or unavailability. */
export type Outcome =
  | { readonly prompt: Prompt }
  | { readonly error: Error }
  | { readonly unavailable: unknown };

export function cacheKey(slug: string, version: number | undefined): string {
  return version === undefined ? `${slug}\u0000` : `${slug}\u0000${version}`;
}

export class PromptCache {
  readonly entries = new Map<string, Entry>();
  readonly flights = new Map<string, Promise<Outcome>>();

  /** Start `fetch` for `key` unless one is running; the flight, and whether it is new. */
  begin(key: string, fetch: () => Promise<Outcome>): [Promise<Outcome>, boolean] {
    const running = this.flights.get(key);
    if (running !== undefined) return [running, false];
    const flight = fetch().finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return [flight, true];
  }

  /** Drop the entries of `slug` (every version), or all entries; how many were dropped. */
  invalidate(slug?: string): number {
    if (slug === undefined) {
      const count = this.entries.size;
      this.entries.clear();
      return count;
    }
    let count = 0;
    for (const key of [...this.entries.keys()]) {
      if (key.slice(0, key.indexOf("\u0000")) === slug) {
        this.entries.delete(key);
        count++;
      }
    }
    return count;
  }
}
