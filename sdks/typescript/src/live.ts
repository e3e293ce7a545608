/**
 * `subscribe: true`: keep the cache current from the server's live stream, `GET /v1/stream`
 * (Server-Sent Events), as the Python SDK's `sdk/subscription.py` does.
 *
 * - Each event goes to the client (`LiveSink.event`); a moved label replaces the cached
 *   prompt at once, and while the stream is up such entries never expire.
 * - `ready` (sent first) says the stream is live; its `last_event_id` (on a first connect),
 *   then each event's id, is sent back as `Last-Event-ID` on reconnecting, and the server
 *   replays every event since: nothing is missed.
 * - A drop: the client goes back to TTL behaviour and the stream reconnects after 100 ms
 *   plus a full-jitter backoff of up to 5 s (reset by each `ready`); no data for 45 s (the
 *   server sends a keep-alive every 15 s) counts as a drop.
 * - 401/403 (a revoked key): the stream stops for good, and the error is handed to
 *   `LiveSink.stopped`; other refusals wait the full 5 s.
 * - Never keeps a Node process alive: timers are `unref()`ed, and on Node the connection
 *   is made with `node:http(s)` (loaded by a dynamic import, so edge runtimes never see
 *   it) on an `unref()`ed socket, since a `fetch` in progress holds the event loop open.
 *   Elsewhere (Deno, Bun, Workers, edge), or when the caller gave their own `fetch`, the
 *   stream is a `fetch` body read as a Web stream.
 * - Nothing rejects unhandled: the loop catches everything.
 */

import { Backoff } from "./backoff.js";
import { AuthenticationError, PermissionDeniedError, PromptOpsError } from "./errors.js";
import { SseParser } from "./sse.js";

export const STREAM_FIRST_MS = 100;
export const STREAM_CAP_MS = 5_000;
export const STREAM_IDLE_MS = 45_000;

/** What the stream tells its client. */
export interface LiveSink {
  /** Connected (`live`, `resumed` when it continued after a Last-Event-ID) or dropped. */
  state(live: boolean, resumed: boolean): void;
  /** An event, its data parsed as JSON (undefined when it is not JSON). */
  event(type: string, payload: unknown): void;
  /** The stream stopped for good (a revoked key, or no permission). */
  stopped(error: Error): void;
}

/** An open stream response: its status, its body's chunks, and how to drop it. */
interface Opened {
  status: number;
  chunks: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

type Opener = (url: string, headers: Record<string, string>, signal: AbortSignal) => Promise<Opened>;

type Timer = { unref?: () => void } | number;

function unrefTimer(timer: Timer): void {
  if (typeof timer === "object" && typeof timer.unref === "function") timer.unref();
}

export class LiveStream {
  /** Sent back as `Last-Event-ID` on reconnecting (null: none yet). */
  lastEventId: string | null = null;
  /** True while connected (after `ready`). */
  live = false;
  /** Why the stream stopped for good (undefined: it has not). */
  error: Error | undefined = undefined;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #sink: LiveSink;
  readonly #open: Opener;
  readonly #backoff = new Backoff(STREAM_FIRST_MS, STREAM_CAP_MS);
  #closed = false;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #waiters: ((live: boolean) => void)[] = [];
  readonly done: Promise<void>;

  constructor(baseUrl: string, headers: Record<string, string>, sink: LiveSink, fetchFn?: typeof fetch) {
    this.#url = `${baseUrl}/v1/stream`;
    this.#headers = { ...headers, Accept: "text/event-stream", "Cache-Control": "no-cache" };
    this.#sink = sink;
    this.#open = fetchFn !== undefined ? fetchOpener(fetchFn) : defaultOpener();
    this.done = this.#run().catch(() => undefined); // never rejects: the loop catches all
  }

  /** Resolves true once connected, false if `timeoutMs` passes or it stops first. Its
   * timer is the one not `unref()`ed: a caller awaiting it is kept alive (for at most
   * `timeoutMs`), as with any other wait. */
  waitUntilLive(timeoutMs: number): Promise<boolean> {
    if (this.live) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer: Timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (live: boolean): void => {
        clearTimeout(timer as never);
        this.#waiters = this.#waiters.filter((w) => w !== finish);
        resolve(live);
      };
      this.#waiters.push(finish);
    });
  }

  /** Stop: the connection is dropped and no reconnect is made. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort?.abort();
    this.#wake?.();
    this.#notify(false);
  }

  #notify(live: boolean): void {
    for (const waiter of [...this.#waiters]) waiter(live);
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      try {
        if (await this.#listen()) this.#backoff.succeeded();
      } catch (err) {
        if (err instanceof Stop) {
          this.#setLive(false);
          this.#closed = true;
          this.error = err.error;
          this.#notify(false);
          try {
            this.#sink.stopped(err.error);
          } catch {
            // the caller's callback must not break the client
          }
          return;
        }
        if (err instanceof Refused) this.#backoff.failures = Math.max(this.#backoff.failures, 8);
      } finally {
        this.#setLive(false);
      }
      if (this.#closed) return;
      await this.#sleep(STREAM_FIRST_MS + this.#backoff.failed(0, undefined));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer: Timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      unrefTimer(timer);
      this.#wake = () => {
        clearTimeout(timer as never);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** One connection, read until it ends; true if it got to `ready`. */
  async #listen(): Promise<boolean> {
    const controller = new AbortController();
    this.#abort = controller;
    const headers = { ...this.#headers };
    if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
    let idle: Timer | undefined;
    const arm = (): void => {
      if (idle !== undefined) clearTimeout(idle as never);
      idle = setTimeout(() => controller.abort(), STREAM_IDLE_MS);
      unrefTimer(idle);
    };
    let ready = false;
    try {
      arm();
      const opened = await this.#open(this.#url, headers, controller.signal);
      if (opened.status === 401 || opened.status === 403) throw new Stop(await refusal(opened));
      if (opened.status !== 200) {
        await opened.text().catch(() => "");
        throw new Refused();
      }
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of opened.chunks) {
        if (this.#closed) break;
        arm();
        for (const sse of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (sse.event === "ready") {
            ready = true;
            const resumed = this.lastEventId !== null;
            if (!resumed) {
              const last = (parseJson(sse.data) as { last_event_id?: unknown } | undefined)?.last_event_id;
              if (last !== undefined && last !== null) this.lastEventId = String(last);
            }
            this.#setLive(true, resumed);
            continue;
          }
          this.#sink.event(sse.event, parseJson(sse.data));
          if (sse.id !== null) this.lastEventId = sse.id;
        }
      }
    } finally {
      if (idle !== undefined) clearTimeout(idle as never);
      if (!controller.signal.aborted) controller.abort(); // drops the connection if still open
    }
    return ready;
  }

  #setLive(live: boolean, resumed = false): void {
    if (live === this.live) return;
    this.live = live;
    this.#sink.state(live, resumed);
    if (live) this.#notify(true);
  }
}

/** A refusal that ends the stream for good. */
class Stop extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

/** A refusal worth waiting the full backoff for. */
class Refused extends Error {}

async function refusal(opened: Opened): Promise<Error> {
  const status = opened.status;
  let message = `HTTP ${status}`;
  let code = status === 401 ? "unauthorized" : "forbidden";
  const text = await opened.text().catch(() => "");
  try {
    const detail = (JSON.parse(text) as { error: { code?: unknown; message?: unknown } }).error;
    if (detail.code !== undefined) code = String(detail.code);
    if (detail.message !== undefined) message = String(detail.message);
  } catch {
    // not the server's error shape: keep the status
  }
  const kind = status === 401 ? AuthenticationError : PermissionDeniedError;
  return new kind(`the live stream was refused (it will not reconnect): ${message}`, { status, code });
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

// -- transports ------------------------------------------------------------------------

function fetchOpener(fetchFn: typeof fetch): Opener {
  return async (url, headers, signal) => {
    const send = fetchFn; // called unbound, as the client does
    const response = await send(url, { headers, signal });
    const body = response.body;
    return {
      status: response.status,
      text: () => response.text(),
      chunks: {
        async *[Symbol.asyncIterator]() {
          if (body === null) return;
          const reader = body.getReader();
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) return;
              yield value;
            }
          } finally {
            reader.cancel().catch(() => undefined);
          }
        },
      },
    };
  };
}

/** Node's `http`/`https` modules, as far as this file uses them. */
interface NodeHttp {
  request(
    url: string,
    options: { headers: Record<string, string>; agent: false; signal: AbortSignal },
  ): NodeRequest;
}
interface NodeSocket {
  unref(): void;
}
interface NodeRequest {
  on(event: "socket", listener: (socket: NodeSocket) => void): NodeRequest;
  on(event: "response", listener: (response: NodeResponse) => void): NodeRequest;
  on(event: "error", listener: (error: Error) => void): NodeRequest;
  end(): void;
}
interface NodeResponse extends AsyncIterable<Uint8Array> {
  statusCode?: number;
  socket?: NodeSocket | null;
  on(event: "error", listener: (error: Error) => void): NodeResponse;
}

/** Node itself (not Deno, Bun or an edge runtime imitating parts of it). */
export function isNode(): boolean {
  const g = globalThis as { process?: { versions?: Record<string, string | undefined> }; Deno?: unknown; Bun?: unknown; EdgeRuntime?: unknown };
  return (
    typeof g.process?.versions?.["node"] === "string" &&
    g.process.versions["bun"] === undefined &&
    g.Deno === undefined &&
    g.Bun === undefined &&
    g.EdgeRuntime === undefined
  );
}

function defaultOpener(): Opener {
  const global = (globalThis as { fetch?: typeof fetch }).fetch;
  const viaFetch = typeof global === "function" ? fetchOpener(global.bind(globalThis)) : undefined;
  if (!isNode()) {
    if (viaFetch === undefined) return () => Promise.reject(new PromptOpsError("no fetch for the live stream"));
    return viaFetch;
  }
  let modules: Promise<[NodeHttp, NodeHttp]> | undefined;
  return async (url, headers, signal) => {
    // A variable specifier: bundlers for edge runtimes leave it alone.
    const names = ["node:http", "node:https"];
    modules ??= Promise.all(names.map((name) => import(name) as Promise<NodeHttp>)) as Promise<[NodeHttp, NodeHttp]>;
    const [http, https] = await modules;
    const module = url.startsWith("https:") ? https : http;
    return new Promise<Opened>((resolve, reject) => {
      const request = module.request(url, { headers, agent: false, signal });
      request.on("socket", (socket) => socket.unref());
      request.on("error", reject);
      request.on("response", (response) => {
        response.socket?.unref();
        response.on("error", () => undefined); // surfaced by the iteration
        resolve({
          status: response.statusCode ?? 0,
          chunks: response,
          text: async () => {
            const decoder = new TextDecoder();
            let text = "";
            for await (const chunk of response) text += decoder.decode(chunk, { stream: true });
            return text;
          },
        });
      });
      request.end();
    });
  };
}
