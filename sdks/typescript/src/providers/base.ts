/**
 * What `run()` needs from an LLM provider (the Python SDK's `providers/base.py`), and the
 * registry of the three it knows. Each adapter works with the provider's official library
 * (an optional peer dependency, imported only to make a default client) through the
 * library's own call: `chat.completions.create` (`openai`), `messages.create`
 * (`@anthropic-ai/sdk`), `models.generateContent[Stream]` (`@google/genai`).
 */

import { ConfigurationError, UnsupportedFieldError } from "../errors.js";
import type { CallSpec, Json, Message, ToolCall } from "./spec.js";

export type ProviderName = "openai" | "anthropic" | "gemini";
export const PROVIDERS: readonly ProviderName[] = ["openai", "anthropic", "gemini"];

export type Usage = [input: number | null, output: number | null];

export interface BuildArgs {
  messages: readonly Message[];
  model: string;
  temperature: number | null;
  maxTokens: number | null;
  /** The caller's other options for the provider call, sent unchanged. */
  params: Json;
  stream: boolean;
  /** The caller passed `temperature` (else it is the version's). */
  temperatureGiven: boolean;
  spec: CallSpec;
}

export abstract class Provider {
  abstract readonly name: ProviderName;
  abstract readonly title: string;
  /** The npm package. */
  abstract readonly library: string;

  /** A client configured from the environment (the library's own variables). */
  async defaultClient(): Promise<unknown> {
    let module: Record<string, unknown>;
    const name = this.library; // not a literal: bundlers must not require an absent peer
    try {
      module = (await import(name)) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigurationError(
        `run({ provider: '${this.name}' }) needs the ${this.title} library, which is not installed: npm install ${this.library} (or pass { client })`,
        { cause: err },
      );
    }
    return this.makeClient(module);
  }

  protected abstract makeClient(module: Record<string, unknown>): unknown;

  /** Throws a ConfigurationError unless `client` is a client of this library. */
  abstract checkClient(client: unknown): void;

  protected requireMethod(client: unknown, path: string, kind: string): void {
    let target: unknown = client;
    for (const part of path.split(".")) {
      target = target !== null && typeof target === "object" ? (target as Json)[part] : undefined;
    }
    if (typeof target !== "function") {
      const got = client === null || typeof client !== "object" ? typeof client : client.constructor?.name ?? "object";
      throw new ConfigurationError(`provider '${this.name}' needs a ${kind} client (with ${path}), got ${got}`);
    }
  }

  abstract build(args: BuildArgs): Json;

  /** The library call: its response, or its stream (an async iterable). `requestOptions`:
   * the library's per-request options (headers, signal, timeout), not part of the log. */
  abstract create(client: unknown, kwargs: Json, stream: boolean, requestOptions?: Json): Promise<unknown>;

  unsupported(field: string, reason: string): UnsupportedFieldError {
    return new UnsupportedFieldError(this.name, field, reason);
  }

  // -- reading answers (the caller's path: cheap) ---------------------------------------
  abstract usage(response: unknown): Usage;
  abstract streamUsage(chunks: readonly unknown[]): Usage;
  abstract text(response: unknown): string | null;
  abstract chunkText(chunk: unknown): string;
  abstract toolCalls(response: unknown): ToolCall[];
  abstract streamToolCalls(chunks: readonly unknown[]): ToolCall[];

  // -- JSON for the log (off the request path) ------------------------------------------

  /** What was sent (the library's options, such as headers and signals, are never in it). */
  loggedRequest(kwargs: Json): Json {
    return toJson(kwargs) as Json;
  }

  /** The response as the provider's JSON. */
  dump(response: unknown): Json | null {
    const value = toJson(response);
    return isObject(value) ? value : { value };
  }

  /** The chunks of a stream merged into the shape of a non-streamed response. */
  abstract merge(chunks: readonly unknown[]): Json | null;

  /** The provider's error body carried by `error`, if any. */
  errorBody(error: unknown): unknown {
    return error !== null && typeof error === "object" ? (error as Json)["error"] : undefined;
  }

  errorJson(body: unknown): Json | null {
    const value = toJson(body);
    return isObject(value) ? value : { error: value };
  }
}

export const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `value` as plain JSON data: objects and arrays copied (undefined members left out, as
 * `JSON.stringify` would), functions and symbols dropped, anything else as its string. */
export function toJson(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value ?? null;
  const kind = typeof value;
  if (kind === "string" || kind === "boolean") return value;
  if (kind === "number") return Number.isFinite(value) ? value : null;
  if (kind === "bigint") return String(value);
  if (kind === "function" || kind === "symbol") return undefined;
  if (depth > 100) return String(value);
  if (Array.isArray(value)) return value.map((v) => toJson(v, depth + 1) ?? null);
  if (value instanceof Date) return value.toISOString();
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return toJson((value as { toJSON: () => unknown }).toJSON(), depth + 1);
  }
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (typeof (value as { getReader?: unknown }).getReader === "function" || value instanceof AbortSignal) return undefined;
  const out: Json = {};
  for (const [key, v] of Object.entries(value as Json)) {
    const converted = toJson(v, depth + 1);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}

const MODEL_PREFIXES: [string[], ProviderName][] = [
  [["gpt-", "chatgpt-", "o1", "o3", "o4", "ft:gpt-"], "openai"],
  [["claude"], "anthropic"],
  [["gemini", "models/gemini"], "gemini"],
];

/** Which provider a call is for, when `provider` was not given: from the caller's client
 * (its shape), else the version's `metadata.provider`, else the model name. */
export function detectProvider(client: unknown, metadata: Readonly<Json>, model: string | null): ProviderName | null {
  if (isObject(client)) {
    const chat = client["chat"];
    if (isObject(chat) && isObject(chat["completions"])) return "openai";
    const models = client["models"];
    if (isObject(models) && typeof models["generateContent"] === "function") return "gemini";
    const messages = client["messages"];
    if (isObject(messages) && typeof messages["create"] === "function") return "anthropic";
  }
  const given = metadata["provider"];
  if (typeof given === "string" && (PROVIDERS as readonly string[]).includes(given)) return given as ProviderName;
  if (model) {
    for (const [prefixes, name] of MODEL_PREFIXES) if (prefixes.some((p) => model.startsWith(p))) return name;
  }
  return null;
}
