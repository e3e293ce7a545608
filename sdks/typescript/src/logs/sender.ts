/**
 * Request logging off the request path (the Python SDK's `logging_queue` + `log_sender`):
 * `run()` puts a `LogEntry` on a bounded in-memory queue (an array push, never a wait);
 * a background sender encodes the records and `POST`s them to `/v1/logs` in batches.
 *
 * - At most `logQueueSize` records (default 10,000) and about `logMaxBytes` (64 MiB) wait;
 *   past either the oldest is dropped and counted (`droppedLogs`, `logStats.overflowed`).
 * - The sender wakes when `logBatchSize` records are waiting (or half the queue, if
 *   smaller), otherwise every `logFlushIntervalMs` (default 1000); each timer is
 *   `unref()`ed, so the queue never keeps a Node process alive.
 * - Network errors, timeouts, 5xx, 408, 425 and 429 are retried with full-jitter backoff
 *   (0.5 s doubling to 30 s), re-sending the same bytes: record ids are client-made UUIDv7s,
 *   so nothing is stored twice. 400 / 413 / 422 split the batch until the refused record is
 *   alone (dropped, `rejected`); 401 / 403 / 404 and other 4xx drop the batch.
 * - `flush()` resolves once every record queued before it was sent (or dropped);
 *   `close()` flushes for up to 5 s, then what is left is `abandoned`. On Node the queue is
 *   also flushed when the event loop empties (`beforeExit`), up to the same 5 s; a process
 *   ended by `process.exit()` or a signal, or a serverless function that returns, should
 *   `await po.flush()` first.
 */

import { Backoff } from "../backoff.js";
import type { PriceTable } from "../pricing.js";
import { encodeEntry, estimateSize, utf8Length, type LogEntry } from "./record.js";

export const LOGS_PATH = "/v1/logs";
export const MAX_BODY_BYTES = 512 * 1024;
export const CLOSE_TIMEOUT_MS = 5_000;
const RETRY = new Set([408, 425, 429]);
const SPLIT = new Set([400, 413, 422]);

export interface LogSettings {
  queueSize: number;
  batchSize: number;
  flushIntervalMs: number;
  maxBytes: number;
}

/** Counters of a client's request log (records, since the client was made). */
export interface LogStats {
  queued: number;
  inFlight: number;
  sent: number;
  overflowed: number;
  rejected: number;
  abandoned: number;
  queuedBytes: number;
  /** overflowed + rejected + abandoned: records that will never reach the server. */
  dropped: number;
}

export interface Transport {
  baseUrl: string;
  headers: Record<string, string>;
  fetch: typeof fetch;
  timeoutMs: number;
}

type Timer = { unref?: () => void } | number;

function later(ms: number, fn: () => void, keepAlive = false): Timer {
  const timer = setTimeout(fn, ms) as unknown as Timer;
  if (!keepAlive && typeof timer === "object") timer.unref?.();
  return timer;
}

function warn(message: string): void {
  (globalThis as { console?: { warn?: (m: string) => void } }).console?.warn?.(`PromptOps: ${message}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export class LogSender {
  readonly #settings: LogSettings;
  readonly #transport: Transport;
  readonly #prices: PriceTable;
  #items: LogEntry[] = [];
  #head = 0; // #items[#head] is the oldest waiting entry
  #bytes = 0;
  #inflight: LogEntry[] = [];
  #count = 0;
  #sent = 0;
  #overflowed = 0;
  #rejected = 0;
  #abandoned = 0;
  #closed = false;
  #overflowWarned = false;
  #failingWarned = false;
  #running: Promise<void> | null = null;
  #timer: Timer | null = null;
  #kick: (() => void) | null = null; // ends a backoff wait early (flush / close)
  #keepAlive = false; // at exit: timers keep the process alive until the records are out
  #progress: (() => void)[] = [];
  readonly #backoff = new Backoff(500, 30_000);

  constructor(settings: LogSettings, transport: Transport, prices: PriceTable) {
    this.#settings = settings;
    this.#transport = transport;
    this.#prices = prices;
    exitHook(this);
  }

  get #length(): number {
    return this.#items.length - this.#head;
  }

  /** Queue `entry`: O(1), no I/O; drops the oldest when full. */
  put(entry: LogEntry): void {
    if (this.#closed) {
      this.#abandoned += 1;
      return;
    }
    entry.size = estimateSize(entry.kwargs, entry.response, entry.chunks, entry.errorBody);
    while (this.#length && (this.#length >= this.#settings.queueSize || this.#bytes + entry.size > this.#settings.maxBytes)) {
      const dropped = this.#items[this.#head] as LogEntry;
      this.#items[this.#head++] = undefined as unknown as LogEntry;
      this.#bytes -= dropped.size;
      this.#overflowed += 1;
      if (!this.#overflowWarned) {
        this.#overflowWarned = true;
        warn(`the request-log queue is full (${this.#settings.queueSize} records or about ${Math.floor(this.#settings.maxBytes / 1048576)} MiB); dropping the oldest until the server accepts logs again (see droppedLogs)`);
      }
    }
    entry.seq = this.#count++;
    this.#items.push(entry);
    this.#bytes += entry.size;
    if (this.#length >= Math.max(1, Math.min(this.#settings.batchSize, Math.floor(this.#settings.queueSize / 2)))) this.#wake();
    else this.#schedule();
  }

  #take(limit: number): LogEntry[] {
    const end = Math.min(this.#items.length, this.#head + limit);
    const batch = this.#items.slice(this.#head, end);
    this.#head = end;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    for (const e of batch) this.#bytes -= e.size;
    this.#inflight = batch;
    return batch;
  }

  #schedule(): void {
    if (this.#timer !== null || this.#running !== null) return;
    this.#timer = later(this.#settings.flushIntervalMs, () => {
      this.#timer = null;
      this.#wake();
    }, this.#keepAlive);
  }

  #wake(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer as number);
      this.#timer = null;
    }
    if (this.#running === null) {
      this.#running = this.#run().finally(() => {
        this.#running = null;
        if (this.#length && !this.#closed) this.#schedule();
        this.#notify();
      });
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed || this.#keepAlive) {
      const entries = this.#take(this.#settings.batchSize);
      if (!entries.length) return;
      await this.#send(entries);
    }
  }

  async #send(entries: LogEntry[]): Promise<void> {
    const groups = this.#groups(entries);
    let sent = 0;
    let rejected = 0;
    try {
      while (groups.length) {
        const group = groups[0] as LogEntry[];
        const [action, detail] = await this.#post(group);
        if (action === "retry") {
          const first = this.#backoff.failures === 0;
          const delay = this.#backoff.failed(0, detail) - 0;
          if (first && !this.#failingWarned) {
            this.#failingWarned = true;
            warn(`cannot send request logs to ${this.#transport.baseUrl} (${detail}); retrying with backoff, keeping up to ${this.#settings.queueSize} records in memory`);
          }
          if (this.#closed && !this.#keepAlive) return;
          await new Promise<void>((resolve) => {
            const timer = later(delay, () => { this.#kick = null; resolve(); }, this.#keepAlive);
            this.#kick = () => { clearTimeout(timer as number); this.#kick = null; resolve(); };
          });
          if (this.#closed && !this.#keepAlive) return;
          continue;
        }
        if (this.#backoff.succeeded()) this.#failingWarned = false;
        groups.shift();
        if (action === "ok") {
          sent += group.length;
          this.#overflowWarned = false;
        } else if (action === "split" && group.length > 1) {
          const half = Math.floor(group.length / 2);
          groups.unshift(group.slice(0, half), group.slice(half));
        } else {
          rejected += group.length;
          warn(`${this.#transport.baseUrl} refused ${group.length} log record(s) (${detail}); dropped`);
        }
      }
    } finally {
      this.#sent += sent;
      this.#rejected += rejected;
      this.#inflight = groups.flat();
      this.#notify();
    }
  }

  #groups(entries: LogEntry[]): LogEntry[][] {
    const groups: LogEntry[][] = [];
    let group: LogEntry[] = [];
    let size = 0;
    for (const entry of entries) {
      const bytes = utf8Length(encodeEntry(entry, this.#prices)) + 1;
      if (group.length && size + bytes > MAX_BODY_BYTES) {
        groups.push(group);
        group = [];
        size = 0;
      }
      group.push(entry);
      size += bytes;
    }
    if (group.length) groups.push(group);
    return groups;
  }

  async #post(group: LogEntry[]): Promise<["ok" | "retry" | "split" | "drop", string]> {
    const { baseUrl, headers, timeoutMs } = this.#transport;
    const send = this.#transport.fetch;
    const body = `{"records":[${group.map((e) => e.encoded).join(",")}]}`;
    let response: Response;
    try {
      response = await send(`${baseUrl}${LOGS_PATH}`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body,
        signal: AbortSignal.timeout(Math.max(timeoutMs, 10_000)),
      });
    } catch (err) {
      return ["retry", describe(err)];
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      await response.body?.cancel().catch(() => undefined);
      return ["ok", ""];
    }
    const text = await response.text().catch(() => "");
    let detail = `HTTP ${status}: ${text.slice(0, 200)}`;
    try {
      const error = (JSON.parse(text) as { error: { code?: string; message?: string } }).error;
      detail = `HTTP ${status} ${error.code ?? ""}: ${error.message ?? ""}`;
    } catch {
      // not our JSON error body: keep the text
    }
    if (status >= 500 || RETRY.has(status)) return ["retry", detail];
    if (SPLIT.has(status)) return ["split", detail];
    return ["drop", detail];
  }

  #floor(): number {
    const first = this.#inflight[0] ?? this.#items[this.#head];
    return first === undefined ? this.#count : first.seq;
  }

  #notify(): void {
    const waiting = this.#progress;
    this.#progress = [];
    for (const resolve of waiting) resolve();
  }

  /** Resolves true once every record queued before the call was sent or dropped; false if
   * `timeoutMs` passed first. */
  async flush(timeoutMs?: number): Promise<boolean> {
    const mark = this.#count;
    if (this.#floor() >= mark) return true;
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    this.#kick?.();
    this.#wake();
    while (this.#floor() < mark) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? later(left, resolve, this.#keepAlive) : null;
        this.#progress.push(() => {
          if (timer !== null) clearTimeout(timer as number);
          resolve();
        });
      });
      if (this.#running === null && this.#floor() < mark) this.#wake();
    }
    return true;
  }

  /** Flush for up to `timeoutMs`, then stop: what is left is counted abandoned. */
  async close(timeoutMs = CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.#closed) return;
    await this.flush(timeoutMs);
    this.#closed = true;
    this.#kick?.();
    const left = this.#length + this.#inflight.length;
    this.#abandoned += left;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#inflight = [];
    if (this.#timer !== null) clearTimeout(this.#timer as number);
    this.#timer = null;
    senders.delete(this.#ref);
    if (left) warn(`${left} request-log record(s) were not sent (client closed)`);
  }

  /** At exit (Node's `beforeExit`): send what is left, keeping the process alive meanwhile. */
  async atExit(): Promise<void> {
    if (this.#closed || this.#floor() >= this.#count) return;
    this.#keepAlive = true;
    await this.close(CLOSE_TIMEOUT_MS);
  }

  readonly #ref: WeakRef<LogSender> = new WeakRef(this);
  get ref(): WeakRef<LogSender> {
    return this.#ref;
  }

  stats(): LogStats {
    const overflowed = this.#overflowed;
    return {
      queued: this.#length,
      inFlight: this.#inflight.length,
      sent: this.#sent,
      overflowed,
      rejected: this.#rejected,
      abandoned: this.#abandoned,
      queuedBytes: this.#bytes,
      dropped: overflowed + this.#rejected + this.#abandoned,
    };
  }
}

// Senders to finish when a Node process's event loop empties, held weakly (a client that is
// garbage-collected is freed with its sender). Other runtimes have no such hook.
const senders = new Set<WeakRef<LogSender>>();
let hooked = false;

function exitHook(sender: LogSender): void {
  senders.add(sender.ref);
  if (hooked) return;
  const proc = (globalThis as { process?: { on?: (event: string, fn: () => void) => void } }).process;
  if (typeof proc?.on !== "function") return;
  hooked = true;
  proc.on("beforeExit", () => {
    for (const ref of [...senders]) {
      const live = ref.deref();
      if (live === undefined) senders.delete(ref);
      else void live.atExit().catch(() => undefined);
    }
  });
}
