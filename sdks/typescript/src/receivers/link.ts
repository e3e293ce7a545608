/**
 * The client's side of a shared cache (`new PromptOps({ cache })`), as the Python client
 * reads one: on a local miss (or an expired entry) the store is read before the server;
 * after a fetch the payload is written to it. Active prompts are stored per environment,
 * and the key's environment is learned from the server's answers: until the server has
 * named it, active reads go to the server. A store that fails is warned about once and
 * bypassed (the server answers instead); it never fails a read.
 */

import { Prompt } from "../prompt.js";
import type { SharedCache } from "./cache.js";

export class SharedLink {
  readonly store: SharedCache;
  environment: string | null = null;
  #warned = false;

  constructor(store: SharedCache) {
    if (typeof store?.get !== "function" || typeof store.set !== "function") {
      throw new TypeError("cache must be a shared cache (MemoryCache, RedisCache, or an object with get/set/delete)");
    }
    this.store = store;
  }

  /** The store's prompt for `slug` (active in the key's environment, or `version`). */
  async read(slug: string, version: number | undefined): Promise<Prompt | null> {
    if (version === undefined && this.environment === null) return null;
    try {
      const payload = version === undefined
        ? await this.store.get(slug, { environment: this.environment as string })
        : await this.store.get(slug, { version });
      return payload === null ? null : Prompt.fromPayload(payload);
    } catch (err) {
      this.#failed("read", err);
      return null;
    }
  }

  /** A prompt the server sent: learn the environment, write the payload (in the
   * background: the caller does not wait for the store). */
  fetched(prompt: Prompt, active: boolean): void {
    if (active && typeof prompt.environment === "string") this.environment = prompt.environment;
    const payload = prompt.payload;
    if (payload === undefined) return;
    void this.store.set(payload as Record<string, unknown>).catch((err: unknown) => this.#failed("write", err));
  }

  #failed(what: string, err: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    (globalThis as { console?: { warn?: (m: string) => void } }).console?.warn?.(`PromptOps: cannot ${what} the shared prompt cache: ${detail}`);
  }
}
