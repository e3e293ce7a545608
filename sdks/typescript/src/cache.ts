/**
 * The in-memory prompt cache of one client: entries by key, and at most one fetch in flight
 * per key. Keys are (slug, version): version undefined is "the version active in the API
 * key's environment" (the key decides the environment, so one client never mixes two), a
 * number is a pinned version. Keys are compared whole: invalidating "foo" never touches
 * "foobar".
 */

import type { Prompt } from "./prompt.js";

/** One cached prompt; replaced whole, never changed in place. `expires` is a clock
 * reading in ms (Infinity for pinned versions, and for active ones while subscribed);
 * `etag` is sent back as If-None-Match; `resolved` is the prompt as a settled promise, made
 * once, so that a cache hit returns it without an `async` frame or a new promise; `sure`
 * means fresh without reading the clock: it never expires, or a timer will replace the
 * entry (with `sure` false) when it does. */
export interface Entry {
  readonly prompt: Prompt;
  readonly expires: number;
  readonly etag: string | null;
  readonly resolved: Promise<Prompt>;
  readonly sure: boolean;
}

export function makeEntry(prompt: Prompt, expires: number, etag: string | null): Entry {
  return { prompt, expires, etag, resolved: Promise.resolve(prompt), sure: expires === Infinity };
}

/** `entry` with another expiry. */
export function renewed(entry: Entry, expires: number): Entry {
  return { ...entry, expires, sure: expires === Infinity };
}

/** What a fetch came to: a prompt to serve, an error to throw, or unavailability. */
export type Outcome =
  | { readonly prompt: Prompt }
  | { readonly error: Error }
  | { readonly unavailable: unknown };

/** The slug itself for the active version (so a hit builds no string), else
 * `slug NUL version` (a slug never holds NUL). */
export function cacheKey(slug: string, version: number | undefined): string {
  return version === undefined ? slug : `${slug}\u0000${version}`;
}

export function isPinnedKey(key: string): boolean {
  return key.includes("\u0000");
}

function slugOf(key: string): string {
  const cut = key.indexOf("\u0000");
  return cut === -1 ? key : key.slice(0, cut);
}

export class PromptCache {
  readonly entries = new Map<string, Entry>();
  readonly flights = new Map<string, Promise<Outcome>>();
  /** With a clock whose readings timers follow (the default one, on Node): expiry by an
   * `unref()`ed timer per entry, so that a hit reads no clock. Else undefined. */
  readonly #timerClock: (() => number) | undefined;
  // Generations: a fetch that began before a value was pushed for its slug (the live
  // stream), or before an invalidation, must not overwrite what came after it.
  #generation = 0;
  #clearedAt = 0;
  readonly #droppedAt = new Map<string, number>();

  constructor(timerClock?: () => number) {
    this.#timerClock = timerClock;
  }

  /** Store `entry` under `key` (every write goes through here). */
  set(key: string, entry: Entry): void {
    const now = this.#timerClock;
    if (now !== undefined && !entry.sure) {
      const wait = entry.expires - now();
      if (wait > 0) {
        const sure: Entry = { ...entry, sure: true };
        entry = sure;
        const timer = setTimeout(() => {
          if (this.entries.get(key) === sure) this.entries.set(key, { ...sure, sure: false });
        }, Math.ceil(wait)) as unknown as { unref?: () => void };
        timer.unref?.();
      }
    }
    this.entries.set(key, entry);
  }

  /** Start `fetch` for `key` unless one is running; the flight, and whether it is new.
   * `fetch` is given the generation to pass back to `store`. */
  begin(key: string, fetch: (generation: number) => Promise<Outcome>): [Promise<Outcome>, boolean] {
    const running = this.flights.get(key);
    if (running !== undefined) return [running, false];
    const flight = fetch(this.#generation).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return [flight, true];
  }

  /** Store what a fetch begun at `generation` brought back; refused (false) when a value
   * was pushed or the slug invalidated since. */
  store(key: string, entry: Entry, generation: number): boolean {
    if (generation < Math.max(this.#clearedAt, this.#droppedAt.get(slugOf(key)) ?? 0)) return false;
    this.set(key, entry);
    return true;
  }

  /** Store a value the server pushed: newer than anything a running fetch could bring. */
  push(key: string, entry: Entry): void {
    this.#droppedAt.set(slugOf(key), ++this.#generation);
    this.set(key, entry);
  }

  /** Drop the entries of `slug` (every version), or all entries; how many were dropped. */
  invalidate(slug?: string): number {
    this.#generation++;
    if (slug === undefined) {
      this.#clearedAt = this.#generation;
      this.#droppedAt.clear();
      const count = this.entries.size;
      this.entries.clear();
      return count;
    }
    this.#droppedAt.set(slug, this.#generation);
    let count = 0;
    for (const key of [...this.entries.keys()]) {
      if (slugOf(key) === slug) {
        this.entries.delete(key);
        count++;
      }
    }
    return count;
  }
}
