/**
 * The request-log record of one `run()` call, exactly as the Python SDK builds it
 * (`promptops.sdk.logging_queue.encode_entry`; the contract fixture
 * `fixtures/logs/records.json` holds both builders to it): the JSON of one element of
 * `POST /v1/logs`'s `records`. Built by the sender, off the request path.
 */

import type { PriceTable } from "../pricing.js";
import type { Prompt } from "../prompt.js";
import type { Provider } from "../providers/base.js";
import type { Json } from "../providers/spec.js";

export const MAX_RECORD_BYTES = 256 * 1024; // a bigger record keeps its figures, not its request/response
export const MAX_ERROR_CHARS = 10_000;
const MAX_INT = 2_147_483_647;

/** The prompt fields a record names. */
export type LoggedPrompt = Pick<Prompt, "slug" | "version" | "environment" | "isFallback">;

/** One call to log, as `run()` left it: references, no serialization yet. */
export interface LogEntry {
  id: string;
  /** When the call started, ms since the epoch. */
  created: number;
  provider: Provider;
  model: string;
  prompt: LoggedPrompt;
  kwargs: Json;
  response: unknown;
  chunks: unknown[] | null;
  /** "Name: message" of the error the call raised, or null. */
  error: string | null;
  errorBody: unknown;
  latencyMs: number;
  metadata: Json | null;
  tags: string[] | null;
  seq: number;
  size: number;
  encoded: string | null;
}

/** Python's `datetime.fromtimestamp(t, UTC).isoformat()` of a time in ms. */
export function isoTime(ms: number): string {
  const date = new Date(ms);
  const base = date.toISOString().slice(0, 19);
  const micros = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1000);
  return micros ? `${base}.${String(micros).padStart(6, "0")}+00:00` : `${base}+00:00`;
}

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_INT ? value : null;
}

export function buildRecord(entry: LogEntry, prices: PriceTable, broken?: unknown): Json {
  const provider = entry.provider;
  let input: number | null = null;
  let output: number | null = null;
  let response: unknown = null;
  if (broken !== undefined) {
    response = { promptops_error: `could not serialize the response: ${describe(broken)}`.slice(0, 1000) };
  } else if (entry.chunks !== null) {
    response = provider.merge(entry.chunks);
    [input, output] = provider.streamUsage(entry.chunks);
  } else if (entry.response !== null && entry.response !== undefined) {
    response = provider.dump(entry.response);
    [input, output] = provider.usage(entry.response);
  } else if (entry.errorBody !== null && entry.errorBody !== undefined) {
    response = provider.errorJson(entry.errorBody);
  }
  const prompt = entry.prompt;
  return {
    id: entry.id,
    created_at: isoTime(entry.created),
    provider: provider.name,
    model: entry.model,
    prompt_slug: prompt.slug,
    prompt_version: prompt.isFallback ? null : prompt.version,
    environment: prompt.environment,
    request: broken !== undefined ? { model: entry.model } : provider.loggedRequest(entry.kwargs),
    response,
    status: entry.error === null ? "ok" : "error",
    error: entry.error === null ? null : entry.error.slice(0, MAX_ERROR_CHARS),
    latency_ms: entry.latencyMs,
    input_tokens: count(input),
    output_tokens: count(output),
    cost_usd: prices.cost(entry.model, input, output),
    metadata: entry.metadata,
    tags: entry.tags,
  };
}

/** The JSON text of `entry`'s record (computed once, then kept on the entry). */
export function encodeEntry(entry: LogEntry, prices: PriceTable): string {
  if (entry.encoded !== null) return entry.encoded;
  let record: Json;
  try {
    record = buildRecord(entry, prices);
  } catch (err) {
    record = buildRecord(entry, prices, err);
  }
  let data = dumps(record);
  const bytes = utf8Length(data);
  if (bytes > MAX_RECORD_BYTES) {
    const marker = { promptops_truncated: true, record_bytes: bytes };
    record["request"] = { model: entry.model, ...marker };
    record["response"] = marker;
    data = dumps(record);
  }
  entry.encoded = data;
  return data;
}

const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/** Strict JSON the server accepts: no NaN/infinity (→ null, as JSON.stringify does), no NUL
 * (→ U+FFFD), no lone surrogates (→ "?"), as the Python SDK sends it. */
export function dumps(record: Json): string {
  let text = JSON.stringify(record);
  if (text.includes("\\u0000")) text = text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\ufffd");
  if (/\\ud[89a-f]/.test(text)) text = text.replace(LONE_SURROGATE, "$1?");
  return text;
}

export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}(${JSON.stringify(error.message)})` : String(error);
}

/** A rough, cheap estimate of the memory `values` hold (the queue is bounded by it). */
export function estimateSize(...values: unknown[]): number {
  let total = 0;
  let seen = 0;
  const stack: unknown[] = [...values];
  while (stack.length) {
    const value = stack.pop();
    seen += 1;
    if (seen > 2000) return total + Math.floor(total / seen) * (stack.length + 1);
    if (typeof value === "string") total += value.length * 2 + 49;
    else if (value === null || typeof value !== "object") total += 28;
    else if (Array.isArray(value)) {
      total += 64 + 8 * value.length;
      for (const v of value) stack.push(v);
    } else {
      const entries = Object.values(value as object);
      total += 64 + 8 * entries.length;
      for (const v of entries) stack.push(v);
    }
  }
  return total;
}
