/**
 * `PromptOps`: the client. Reads prompts through an in-memory cache with the Python SDK's
 * semantics:
 *
 * - a miss makes one request (concurrent readers of the same key share it);
 * - an entry is served without any network call for `cacheTtlMs` (default 60 s);
 * - after that it is revalidated with `If-None-Match` (a 304 keeps it for another TTL); by
 *   default the old value is served at once and revalidated in the background
 *   (`backgroundRefresh: false` revalidates before answering); one refresh in flight per key;
 * - the server unreachable, timing out, or answering 5xx/408/429: the last good value is
 *   served with `isStale` (and the server left alone for a jittered backoff), else the
 *   caller's `fallback` (`isFallback`), else a `PromptUnavailableError`;
 * - a 404 evicts the entry and throws `PromptNotFoundError` (401, 403 and other 4xx also
 *   evict and throw their `APIError`);
 * - pinned versions (`{ version: 3 }`) never expire;
 * - `subscribe: true` keeps the cache current from the live stream (live.ts): a promotion
 *   replaces the cached prompt at once, and while connected active prompts never expire;
 * - `snapshotPath` (Node) keeps the last good prompts in a file, read at boot, for a cold
 *   start with the server down (snapshot.ts).
 *
 * Only `fetch`, `AbortSignal.timeout` and standard APIs are used, so it runs on Node 20+,
 * Deno, Bun and edge runtimes. No timer of its own is left running (the request timeout is
 * `AbortSignal.timeout`, which never keeps a Node process alive), and no promise is left to
 * reject unhandled: background refreshes settle into an outcome, never a rejection.
 */

import { Backoff } from "./backoff.js";
import { cacheKey, isPinnedKey, makeEntry, PromptCache, renewed, type Entry, type Outcome } from "./cache.js";
import { isNode, LiveStream } from "./live.js";
import { Snapshot } from "./snapshot.js";
import {
  APIError,
  AuthenticationError,
  ConfigurationError,
  InvalidResponseError,
  PermissionDeniedError,
  PromptNotFoundError,
  PromptOpsError,
  PromptUnavailableError,
  ServerError,
} from "./errors.js";
import { Prompt, type Fallback } from "./prompt.js";
import { logSettings, type LogOptions } from "./logs/options.js";
import { LogSender, type LogStats } from "./logs/sender.js";
import { PriceTable, type Prices } from "./pricing.js";
import type { Json } from "./providers/spec.js";
import { Runner, type RunOptions, type RunResult, type RunStream } from "./run.js";
import type { SharedCache } from "./receivers/cache.js";
import { SharedLink } from "./receivers/link.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";
export const DEFAULT_CACHE_TTL_MS = 60_000;
export const DEFAULT_TIMEOUT_MS = 5_000;
const SLUG = /^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$/;
const UNAVAILABLE_STATUSES = new Set([408, 429]);
/** Stream events that carry a prompt to cache (`data.prompt`): the Python SDK's set. */
const LABEL_EVENTS = new Set([
  "prompt_template_label_moved",
  "prompt_template_label_change_approved",
  "prompt_template_updated",
]);

export interface PromptOpsOptions extends LogOptions {
  /** The API key (default: the PROMPTOPS_API_KEY environment variable). */
  apiKey?: string;
  /** The server (default: PROMPTOPS_BASE_URL, else http://127.0.0.1:8000). */
  baseUrl?: string;
  /** How long a read is served from memory without a network call (default 60000). */
  cacheTtlMs?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Per-request timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Serve an expired entry at once and revalidate it in the background (default true). */
  backgroundRefresh?: boolean;
  /** The clock, in ms (default `performance.now`); for tests. */
  clock?: () => number;
  /** Keep the cache current from the server's live stream (`GET /v1/stream`): a promotion
   * reaches `getPrompt` in milliseconds. Stop it with `close()` (default false). */
  subscribe?: boolean;
  /** Node: a file holding the last good prompts (the Python SDK's format), read at boot
   * so a cold start with the server down serves them (`isStale`). */
  snapshotPath?: string;
  /** Background problems (the live stream refused for good, a snapshot file that cannot
   * be read or written); default: `console.warn`. */
  onError?: (error: PromptOpsError) => void;
  /** Model prices for `run()`'s cost estimates, over the defaults (see pricing.ts). */
  prices?: Prices;
  /** A shared cache that webhook receivers keep fresh (MemoryCache, RedisCache), read on a
   * local miss before the server and written after a fetch (see receivers/link.ts). */
  cache?: SharedCache;
}

export interface GetPromptOptions {
  /** A pinned version (never expires); default: the version active in the key's environment. */
  version?: number;
  /** What to serve when nothing is cached and the server is unavailable. */
  fallback?: Fallback;
}

function env(name: string): string | undefined {
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const value = process?.env?.[name];
  return value ? value : undefined;
}

export class PromptOps {
  readonly baseUrl: string;
  readonly cacheTtlMs: number;
  readonly timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #clock: () => number;
  readonly #background: boolean;
  readonly #cache: PromptCache;
  readonly #backoff = new Backoff();
  readonly #onError: (error: PromptOpsError) => void;
  #live: LiveStream | undefined;
  #snapshot: Snapshot | undefined;
  #booting: Promise<void> | undefined;
  readonly #logSettings: ReturnType<typeof logSettings>;
  readonly #prices: PriceTable;
  #runner: Runner | undefined;
  readonly #shared: SharedLink | undefined;

  constructor(options: PromptOpsOptions = {}) {
    const apiKey = options.apiKey ?? env("PROMPTOPS_API_KEY");
    if (typeof apiKey !== "string" || !apiKey.trim()) {
      throw new ConfigurationError("no API key: pass { apiKey } or set PROMPTOPS_API_KEY");
    }
    const baseUrl = options.baseUrl ?? env("PROMPTOPS_BASE_URL") ?? DEFAULT_BASE_URL;
    if (!/^https?:\/\/[^/]/.test(baseUrl)) {
      throw new ConfigurationError(`baseUrl must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
    }
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    if (!(this.cacheTtlMs >= 0) || !Number.isFinite(this.cacheTtlMs)) {
      throw new ConfigurationError(`cacheTtlMs must be a finite number >= 0, got ${String(options.cacheTtlMs)}`);
    }
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.timeoutMs > 0) || !Number.isFinite(this.timeoutMs)) {
      throw new ConfigurationError(`timeoutMs must be a finite number > 0, got ${String(options.timeoutMs)}`);
    }
    const given = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (typeof given !== "function") {
      throw new ConfigurationError("no fetch: pass { fetch } on a runtime without a global fetch");
    }
    this.#fetch = options.fetch ?? given.bind(globalThis);
    this.#clock = options.clock ?? (() => performance.now());
    // On Node, with the default clock, entries expire by unref()ed timers and a hit reads
    // no clock; elsewhere (timers may not outlive a request: Workers) and with a given clock,
    // each hit reads the clock.
    this.#cache = new PromptCache(options.clock === undefined && isNode() ? this.#clock : undefined);
    this.#background = options.backgroundRefresh ?? true;
    this.#headers = { Authorization: `Bearer ${apiKey.trim()}`, Accept: "application/json" };
    this.#logSettings = logSettings(options);
    this.#prices = new PriceTable(options.prices);
    this.#shared = options.cache === undefined ? undefined : new SharedLink(options.cache);
    this.#onError = options.onError ?? ((error) => console.warn(`PromptOps: ${error.message}`));
    if (options.snapshotPath !== undefined) {
      if (typeof options.snapshotPath !== "string" || !options.snapshotPath) {
        throw new ConfigurationError(`snapshotPath must be a file path, got ${JSON.stringify(options.snapshotPath)}`);
      }
      const report = (message: string): void => this.#report(new PromptOpsError(message));
      this.#booting = Snapshot.open(options.snapshotPath, this.baseUrl, apiKey.trim(), report).then(
        (snapshot) => { this.#snapshot = snapshot; this.#booting = undefined; },
        (err: unknown) => { report(`cannot open the snapshot file: ${String(err)}`); this.#booting = undefined; },
      );
    }
    if (options.subscribe) {
      this.#live = new LiveStream(this.baseUrl, this.#headers, {
        state: (live, resumed) => this.#streamState(live, resumed),
        event: (type, payload) => this.#streamEvent(type, payload),
        stopped: (error) => this.#report(error as PromptOpsError),
      }, options.fetch);
    }
  }

  /** True while the live stream is connected (active prompts then never expire). */
  get subscribed(): boolean {
    return this.#live?.live ?? false;
  }

  /** Why the live stream stopped for good (a revoked key: `AuthenticationError`), if it did. */
  get streamError(): Error | undefined {
    return this.#live?.error;
  }

  /** Resolves true once the live stream is connected; false after `timeoutMs`, without
   * `subscribe`, or when the stream stopped. */
  waitUntilSubscribed(timeoutMs = 5000): Promise<boolean> {
    return this.#live?.waitUntilLive(timeoutMs) ?? Promise.resolve(false);
  }

  /** Stop the live stream, finish writing the snapshot file, send the request log for up
   * to `timeoutMs` (default 5000), then stop it: records still unsent are counted
   * abandoned, and later `run()` calls are not logged. Reads keep working (on the TTL).
   * Nothing of the client keeps a process alive, so calling it is optional. */
  async close(timeoutMs?: number): Promise<void> {
    this.#live?.close();
    await this.#live?.done;
    await this.settle();
    await this.#runner?.sender.close(timeoutMs);
  }

  /** Fetch `slug`, render it with `variables`, call the provider through its official
   * library and log the exchange in the background (see run.ts). */
  run(slug: string, variables?: Json, options?: RunOptions & { stream?: false }): Promise<RunResult>;
  run(slug: string, variables: Json | undefined, options: RunOptions & { stream: true }): Promise<RunStream>;
  run(slug: string, variables?: Json, options?: RunOptions): Promise<RunResult | RunStream>;
  async run(slug: string, variables: Json = {}, options: RunOptions = {}): Promise<RunResult | RunStream> {
    return this.#run().run(slug, variables, options);
  }

  /** Resolves true once every request-log record queued before the call was sent (or
   * dropped); false when `timeoutMs` passed first. */
  async flush(timeoutMs?: number): Promise<boolean> {
    return this.#runner === undefined ? true : this.#runner.sender.flush(timeoutMs);
  }

  /** Request-log records of `run()` that will never reach the server (see `logStats`). */
  get droppedLogs(): number {
    return this.logStats.dropped;
  }

  /** Counters of the request log: queued, in flight, sent, overflowed, rejected, abandoned. */
  get logStats(): LogStats {
    return this.#runner?.sender.stats() ??
      { queued: 0, inFlight: 0, sent: 0, overflowed: 0, rejected: 0, abandoned: 0, queuedBytes: 0, dropped: 0 };
  }

  #run(): Runner {
    if (this.#runner === undefined) {
      const transport = { baseUrl: this.baseUrl, headers: this.#headers, fetch: this.#fetch, timeoutMs: this.timeoutMs };
      const sender = new LogSender(this.#logSettings, transport, this.#prices);
      this.#runner = new Runner((slug, options) => this.getPrompt(slug, options), sender, this.#prices);
    }
    return this.#runner;
  }

  /** The prompt `slug` (the version active in the key's environment, or `version`). */
  getPrompt(slug: string, options?: GetPromptOptions): Promise<Prompt> {
    // The hit path: one Map.get, a flag (or, where entries are not timed, one clock
    // reading), a promise made when the entry was stored. The arguments are checked on a
    // miss (only valid keys are ever stored).
    if (options?.version === undefined) {
      const entry = this.#cache.entries.get(slug);
      if (entry !== undefined && (entry.sure || entry.expires > this.#clock())) return entry.resolved;
    }
    return this.#read(slug, options ?? {});
  }

  async #read(slug: string, options: GetPromptOptions): Promise<Prompt> {
    const { version, fallback } = options;
    if (typeof slug !== "string" || !SLUG.test(slug)) {
      throw new ConfigurationError(`slug must be a prompt slug (lowercase letters, digits, - and _), got ${JSON.stringify(slug)}`);
    }
    if (version !== undefined && !(Number.isInteger(version) && version >= 1)) {
      throw new ConfigurationError(`version must be a positive integer, got ${JSON.stringify(version)}`);
    }
    const key = cacheKey(slug, version);
    const entry = this.#cache.entries.get(key);
    const now = this.#clock();
    if (entry !== undefined && entry.expires > now) return entry.prompt;
    if (this.#booting !== undefined) {
      await this.#booting; // the snapshot file, read once at boot
      return this.#read(slug, options);
    }
    if (this.#backoff.active(now)) {
      const cause = this.#backoff.cause ?? new Error("the server is unavailable");
      return this.#finish(slug, version, this.#stale(key, entry, cause, this.#backoff.until), fallback);
    }
    const [flight, started] = this.#cache.begin(key, (generation) => this.#load(key, slug, version, entry, generation));
    if (entry !== undefined && (!started || this.#background)) return entry.prompt;
    return this.#finish(slug, version, await flight, fallback);
  }

  /** Drop cached entries: those of `slug` (every version), or all; how many. */
  invalidate(slug?: string): number {
    return this.#cache.invalidate(slug);
  }

  /** Resolves when no fetch or background refresh is in flight. */
  async settle(): Promise<void> {
    await this.#booting;
    while (this.#cache.flights.size) await Promise.all([...this.#cache.flights.values()]);
    await this.#snapshot?.settle();
  }

  #url(slug: string, version: number | undefined): string {
    const path = encodeURIComponent(slug);
    return version === undefined
      ? `${this.baseUrl}/v1/prompts/${path}/active`
      : `${this.baseUrl}/v1/prompts/${path}/versions/${version}`;
  }

  /** One request, turned into an outcome (never a rejection), the cache updated. */
  async #load(
    key: string,
    slug: string,
    version: number | undefined,
    entry: Entry | undefined,
    generation: number,
  ): Promise<Outcome> {
    const prior = entry ?? this.#snapshot?.get(key); // what can be revalidated
    const shared = await this.#shared?.read(slug, version);
    if (shared) {
      const ttl = version === undefined && !this.subscribed ? this.cacheTtlMs : Infinity;
      return this.#store(key, makeEntry(shared, this.#clock() + ttl, null), generation);
    }
    const headers: Record<string, string> = { ...this.#headers };
    if (prior?.etag && version === undefined) headers["If-None-Match"] = prior.etag;
    let response: Response;
    try {
      const send = this.#fetch; // called unbound: browsers' fetch refuses another `this`
      response = await send(this.#url(slug, version), {
        headers,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      return this.#failed(key, prior, err);
    }
    try {
      return await this.#apply(key, slug, version, prior, response, generation);
    } catch (err) {
      return this.#failed(key, prior, err);
    }
  }

  async #apply(
    key: string,
    slug: string,
    version: number | undefined,
    prior: Entry | undefined,
    response: Response,
    generation: number,
  ): Promise<Outcome> {
    const status = response.status;
    const ttl = version === undefined && !this.subscribed ? this.cacheTtlMs : Infinity;
    if (status === 304 && prior !== undefined) {
      const prompt = prior.prompt.withFlags({});
      return this.#store(key, makeEntry(prompt, this.#clock() + ttl, prior.etag), generation);
    }
    if (status >= 200 && status < 300) {
      let prompt: Prompt;
      let payload: unknown;
      try {
        payload = await response.json();
        prompt = Prompt.fromPayload(payload);
      } catch (err) {
        const detail = err instanceof Error ? err.message : String(err);
        const bad = new InvalidResponseError(
          `GET ${new URL(this.#url(slug, version)).pathname} answered ${status} with a body that is not a prompt: ${detail}`,
          status,
        );
        return this.#failed(key, prior, bad);
      }
      const etag = response.headers.get("etag");
      const outcome = this.#store(key, makeEntry(prompt, this.#clock() + ttl, etag), generation);
      if (outcome.prompt === prompt) {
        if (this.#snapshot?.put(key, slug, version, payload, etag)) void this.#snapshot.write();
        this.#shared?.fetched(prompt, version === undefined);
      }
      return outcome;
    }
    const error = await statusError(slug, version, response);
    if (status >= 500 || UNAVAILABLE_STATUSES.has(status)) return this.#failed(key, prior, error);
    // A definitive answer: the cached value must not be served any more.
    this.#cache.entries.delete(key);
    this.#backoff.succeeded();
    if (status === 404 && this.#snapshot?.discard(key)) void this.#snapshot.write();
    return { error };
  }

  /** Store what a fetch brought; a value pushed (or an invalidation) since it began wins. */
  #store(key: string, entry: Entry, generation: number): { prompt: Prompt } {
    this.#backoff.succeeded();
    if (this.#cache.store(key, entry, generation)) return { prompt: entry.prompt };
    return { prompt: this.#cache.entries.get(key)?.prompt ?? entry.prompt };
  }

  #report(error: PromptOpsError): void {
    try {
      this.#onError(error);
    } catch {
      // the caller's callback must not break the client
    }
  }

  /** The stream connected or dropped. Connected afresh (not resumed), what is cached may
   * predate it, so active prompts revalidate on their next read; dropped, they go back to
   * expiring after the TTL. */
  #streamState(live: boolean, resumed: boolean): void {
    const now = this.#clock();
    const entries = this.#cache.entries;
    for (const [key, entry] of entries) {
      if (isPinnedKey(key)) continue; // pinned versions never expire anyway
      if (live && !resumed) this.#cache.set(key, renewed(entry, Math.min(entry.expires, now)));
      else if (!live && entry.expires === Infinity) this.#cache.set(key, renewed(entry, now + this.cacheTtlMs));
    }
  }

  /** A stream event: a moved label replaces the cached active prompt at once. */
  #streamEvent(type: string, payload: unknown): void {
    if (!LABEL_EVENTS.has(type)) return;
    const body = (payload as { data?: { prompt?: unknown } } | undefined)?.data?.prompt;
    if (typeof body !== "object" || body === null) return;
    let prompt: Prompt;
    try {
      prompt = Prompt.fromPayload(body);
    } catch {
      this.#report(new PromptOpsError(`ignoring a ${type} stream event with an unreadable prompt`));
      return;
    }
    const key = cacheKey(prompt.slug, undefined);
    const expires = this.subscribed ? Infinity : this.#clock() + this.cacheTtlMs;
    this.#cache.push(key, makeEntry(prompt, expires, null));
    const remember = (): void => {
      if (this.#snapshot?.put(key, prompt.slug, undefined, body, null)) void this.#snapshot.write();
    };
    if (this.#booting === undefined) remember();
    else void this.#booting.then(remember); // the snapshot file is still being read
  }

  #failed(key: string, prior: Entry | undefined, cause: unknown): Outcome {
    const until = this.#backoff.failed(this.#clock(), cause);
    return this.#stale(key, prior, cause, until);
  }

  /** Serve the last good value flagged stale until `until` (when the next attempt may be
   * made), else unavailability. */
  #stale(key: string, prior: Entry | undefined, cause: unknown, until: number): Outcome {
    const entry = this.#cache.entries.get(key) ?? prior ?? this.#snapshot?.get(key);
    if (entry === undefined) return { unavailable: cause };
    const prompt = entry.prompt.withFlags({ isStale: true });
    this.#cache.set(key, makeEntry(prompt, until, entry.etag));
    return { prompt };
  }

  #finish(slug: string, version: number | undefined, outcome: Outcome, fallback: Fallback | undefined): Prompt {
    if ("prompt" in outcome) return outcome.prompt;
    if ("error" in outcome) throw outcome.error;
    if (fallback !== undefined) return Prompt.fromFallback(slug, version, fallback);
    throw new PromptUnavailableError(slug, version, outcome.unavailable);
  }
}

async function statusError(slug: string, version: number | undefined, response: Response): Promise<APIError> {
  const status = response.status;
  let code = "error";
  let message = `HTTP ${status}`;
  let field: string | undefined;
  const text = await response.text().catch(() => "");
  try {
    const detail = (JSON.parse(text) as { error: { code?: unknown; message?: unknown; field?: unknown } }).error;
    if (detail.code !== undefined) code = String(detail.code);
    if (detail.message !== undefined) message = String(detail.message);
    if (typeof detail.field === "string") field = detail.field;
  } catch {
    if (text.trim()) message = `${message}: ${text.trim().slice(0, 200)}`;
  }
  const name = version === undefined ? `'${slug}'` : `'${slug}' (pinned version ${version})`;
  const kind =
    status === 401 ? AuthenticationError
    : status === 403 ? PermissionDeniedError
    : status === 404 ? PromptNotFoundError
    : status >= 500 ? ServerError
    : APIError;
  return new kind(`${name}: ${message}`, { status, code, field, slug });
}
