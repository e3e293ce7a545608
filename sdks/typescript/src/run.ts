/**
 * `run()`: fetch a prompt, render it, call the LLM provider through its official library,
 * and log the exchange in the background (the Python SDK's `promptops.sdk.run`):
 *
 * ```ts
 * const result = await po.run("onboarding-email", { name: "Ada" }, { provider: "openai", client: openai });
 * result.response;   // the library's own ChatCompletion, unchanged
 * result.text; result.usage; result.toolCalls; result.logId; result.prompt;
 *
 * const stream = await po.run("onboarding-email", { name: "Ada" }, { client: openai, stream: true });
 * for await (const chunk of stream) { ... }   // the library's own chunks / events
 * ```
 *
 * The version's `tools`, `tool_choice`, `response_format` and `params` are sent too, mapped
 * by the provider adapter (`providers/*.ts`); options of `run()` with those names replace
 * them for one call (`null` leaves one out). What the provider cannot express throws
 * `UnsupportedFieldError` before any call. Provider errors reach the caller unchanged (the
 * same object) after an error record is queued. What `run()` adds to the provider call is
 * a cached prompt read, a render, building the arguments and one push on the log queue.
 */

import type { ChatMessage } from "./content.js";
import { ConfigurationError } from "./errors.js";
import { uuid7 } from "./ids.js";
import type { LogEntry } from "./logs/record.js";
import type { LogSender } from "./logs/sender.js";
import type { PriceTable } from "./pricing.js";
import type { Fallback, Prompt } from "./prompt.js";
import { detectProvider, type Provider, type ProviderName } from "./providers/base.js";
import { getProvider } from "./providers/registry.js";
import { callSpec, parseOutput, type CallSpec, type Json, type ToolCall } from "./providers/spec.js";

const MAX_TAGS = 50;
const MAX_TAG_LENGTH = 100;

export interface RunOptions {
  /** "openai", "anthropic" or "gemini" (default: from `client`'s shape, the version's
   * `metadata.provider`, or the model name). */
  provider?: ProviderName;
  /** Your configured provider client (`new OpenAI()`, `new Anthropic()`,
   * `new GoogleGenAI()`); default: one made from the environment. */
  client?: unknown;
  /** Return a `RunStream` of the library's own chunks. */
  stream?: boolean;
  /** The messages of the prompt's `history` placeholder. */
  history?: ChatMessage[];
  /** As in `getPrompt`. */
  version?: number;
  fallback?: Fallback;
  /** Stored with the log record. */
  metadata?: Json;
  tags?: string[];
  /** Replace the version's (null leaves one out of the call). */
  model?: string;
  temperature?: number | null;
  max_tokens?: number | null;
  tools?: Json[] | null;
  tool_choice?: string | null;
  response_format?: Json | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  reasoning_effort?: string | null;
  /** Other arguments of the provider call, sent (and logged) unchanged. */
  params?: Json;
  /** The library's per-request options (headers, signal, timeout): never logged. */
  requestOptions?: Json;
}

export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
}

function usageOf([input, output]: [number | null, number | null]): Usage {
  const total = input === null && output === null ? null : (input ?? 0) + (output ?? 0);
  return { inputTokens: input, outputTokens: output, totalTokens: total };
}

interface Call {
  adapter: Provider;
  client: unknown;
  kwargs: Json;
  model: string;
  prompt: Prompt;
  spec: CallSpec;
  metadata: Json | null;
  tags: string[] | null;
  created: number;
  start: number;
}

/** What a non-streaming `run()` resolves to. */
export class RunResult {
  /** The provider library's own response (`ChatCompletion`, `Message`,
   * `GenerateContentResponse`), unchanged. */
  readonly response: unknown;
  /** The id of the log record (`GET /v1/logs/{logId}` once sent). */
  readonly logId: string;
  readonly prompt: Prompt;
  readonly model: string;
  readonly latencyMs: number;
  readonly #adapter: Provider;
  readonly #prices: PriceTable;
  readonly #spec: CallSpec;

  constructor(response: unknown, logId: string, call: Call, latencyMs: number, prices: PriceTable) {
    this.response = response;
    this.logId = logId;
    this.prompt = call.prompt;
    this.model = call.model;
    this.latencyMs = latencyMs;
    this.#adapter = call.adapter;
    this.#prices = prices;
    this.#spec = call.spec;
  }

  get provider(): ProviderName {
    return this.#adapter.name;
  }

  /** The reply's text (first choice / text blocks / first candidate's text parts). */
  get text(): string | null {
    return this.#adapter.text(this.response);
  }

  get usage(): Usage {
    return usageOf(this.#adapter.usage(this.response));
  }

  /** The function calls the model asked for, the same shape for every provider
   * (`InvalidOutputError` when a call's arguments are not a JSON object). */
  get toolCalls(): ToolCall[] {
    return this.#adapter.toolCalls(this.response);
  }

  /** With a `json_object` / `json_schema` response format: the reply parsed as JSON
   * (`InvalidOutputError` when it is not); null for text output. */
  get parsed(): unknown {
    return parseOutput(this.text, this.#spec);
  }

  /** Estimated cost from the client's price table (null for an unknown model). */
  get costUsd(): number | null {
    const [input, output] = this.#adapter.usage(this.response);
    return this.#prices.cost(this.model, input, output);
  }
}

/** What `run({ stream: true })` resolves to: `for await` it for the library's own chunks.
 * The call is logged when the stream ends, fails (the library's error is re-thrown
 * unchanged) or is left early (`break`, `close()`): the log holds what arrived. */
export class RunStream implements AsyncIterableIterator<unknown> {
  /** The library's stream object. */
  readonly response: unknown;
  readonly logId = uuid7();
  readonly prompt: Prompt;
  readonly model: string;
  readonly chunks: unknown[] = [];
  readonly #call: Call;
  readonly #state: Runner;
  readonly #iterator: AsyncIterator<unknown>;
  #finished = false;

  constructor(state: Runner, call: Call, source: unknown) {
    this.response = source;
    this.prompt = call.prompt;
    this.model = call.model;
    this.#call = call;
    this.#state = state;
    const iterable = source as AsyncIterable<unknown>;
    if (typeof iterable?.[Symbol.asyncIterator] !== "function") {
      throw new ConfigurationError(`the ${call.adapter.title} library did not return a stream`);
    }
    this.#iterator = iterable[Symbol.asyncIterator]();
  }

  get provider(): ProviderName {
    return this.#call.adapter.name;
  }

  /** The stream ended, failed or was closed (and its log record is queued). */
  get finished(): boolean {
    return this.#finished;
  }

  /** The text received so far. */
  get text(): string {
    const adapter = this.#call.adapter;
    return this.chunks.map((chunk) => adapter.chunkText(chunk)).join("");
  }

  get usage(): Usage {
    return usageOf(this.#call.adapter.streamUsage(this.chunks));
  }

  #ended(name: string): void {
    if (!this.#finished) throw new ConfigurationError(`${name} is read once the stream has ended: iterate it to the end (or close it)`);
  }

  get toolCalls(): ToolCall[] {
    this.#ended("toolCalls");
    return this.#call.adapter.streamToolCalls(this.chunks);
  }

  get parsed(): unknown {
    this.#ended("parsed");
    return parseOutput(this.text, this.#call.spec);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<unknown>> {
    if (this.#finished) return { done: true, value: undefined };
    let step: IteratorResult<unknown>;
    try {
      step = await this.#iterator.next();
    } catch (err) {
      this.#finish(err);
      throw err;
    }
    if (step.done) {
      this.#finish(null);
      return step;
    }
    this.chunks.push(step.value);
    return step;
  }

  /** Stop reading: the connection is released and the call logged. */
  async return(): Promise<IteratorResult<unknown>> {
    this.#finish(null);
    await this.#iterator.return?.().catch(() => undefined);
    return { done: true, value: undefined };
  }

  async close(): Promise<void> {
    await this.return();
  }

  #finish(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    const call = this.#call;
    this.#state.log(this.logId, call, null, this.chunks, error, performance.now() - call.start);
  }
}

function checkedMeta(metadata: unknown, tags: unknown): [Json | null, string[] | null] {
  if (metadata !== undefined && metadata !== null && (typeof metadata !== "object" || Array.isArray(metadata))) {
    throw new ConfigurationError(`metadata must be an object, not ${Array.isArray(metadata) ? "an array" : typeof metadata}`);
  }
  if (tags !== undefined && tags !== null) {
    if (!Array.isArray(tags)) throw new ConfigurationError(`tags must be a list of strings, not ${JSON.stringify(tags)}`);
    if (tags.length > MAX_TAGS) throw new ConfigurationError(`at most ${MAX_TAGS} tags, got ${tags.length}`);
    for (const tag of tags) {
      if (typeof tag !== "string" || tag.length < 1 || tag.length > MAX_TAG_LENGTH) {
        throw new ConfigurationError(`each tag must be a string of 1 to ${MAX_TAG_LENGTH} characters, not ${JSON.stringify(tag)}`);
      }
    }
  }
  return [metadata ? { ...(metadata as Json) } : null, tags ? [...(tags as string[])] : null];
}

const OVERRIDES = ["tools", "tool_choice", "response_format", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort"];

export type GetPrompt = (slug: string, options: { version?: number; fallback?: Fallback }) => Promise<Prompt>;

/** What `run()` keeps per PromptOps client: the log sender and the provider clients it made. */
export class Runner {
  readonly sender: LogSender;
  readonly prices: PriceTable;
  readonly #getPrompt: GetPrompt;
  readonly #own = new Map<ProviderName, Promise<unknown>>();

  constructor(getPrompt: GetPrompt, sender: LogSender, prices: PriceTable) {
    this.#getPrompt = getPrompt;
    this.sender = sender;
    this.prices = prices;
  }

  async run(slug: string, variables: Json, options: RunOptions): Promise<RunResult | RunStream> {
    const [metadata, tags] = checkedMeta(options.metadata, options.tags);
    const getOptions: { version?: number; fallback?: Fallback } = {};
    if (options.version !== undefined) getOptions.version = options.version;
    if (options.fallback !== undefined) getOptions.fallback = options.fallback;
    const prompt = await this.#getPrompt(slug, getOptions);
    const call = await this.#prepare(prompt, variables ?? {}, options, metadata, tags);
    const stream = options.stream === true;
    let response: unknown;
    try {
      response = await call.adapter.create(call.client, call.kwargs, stream, options.requestOptions);
    } catch (err) {
      this.log(uuid7(), call, null, null, err, performance.now() - call.start);
      throw err;
    }
    if (stream) return new RunStream(this, call, response);
    const latency = performance.now() - call.start;
    const id = uuid7();
    this.log(id, call, response, null, null, latency);
    return new RunResult(response, id, call, latency, this.prices);
  }

  async #prepare(prompt: Prompt, variables: Json, options: RunOptions, metadata: Json | null, tags: string[] | null): Promise<Call> {
    const model = "model" in options ? options.model : prompt.model;
    const temperatureGiven = "temperature" in options;
    const temperature = temperatureGiven ? options.temperature ?? null : prompt.temperature;
    const maxTokens = "max_tokens" in options ? options.max_tokens ?? null : prompt.maxTokens;
    if (!model || typeof model !== "string") {
      throw new ConfigurationError(`prompt '${prompt.slug}' (version ${String(prompt.version)}) names no model: pass { model }`);
    }
    const name = options.provider ?? detectProvider(options.client, prompt.metadata as Json, model);
    if (name === null) {
      throw new ConfigurationError(`cannot tell which provider serves model '${model}': pass { provider: 'openai' | 'anthropic' | 'gemini' }`);
    }
    const adapter = getProvider(name);
    const overrides: Json = {};
    for (const key of OVERRIDES) if (key in options) overrides[key] = (options as Json)[key];
    const spec = callSpec(prompt, overrides);
    const renderOptions = options.history === undefined ? {} : { history: options.history };
    const rendered = prompt.render(variables, renderOptions);
    const messages = typeof rendered === "string" ? [{ role: "user", content: rendered }] : rendered;
    const kwargs = adapter.build({
      messages, model, temperature, maxTokens, params: { ...(options.params ?? {}) }, stream: options.stream === true, temperatureGiven, spec,
    });
    const client = await this.#client(adapter, options.client);
    return { adapter, client, kwargs, model, prompt, spec, metadata, tags, created: Date.now(), start: performance.now() };
  }

  async #client(adapter: Provider, given: unknown): Promise<unknown> {
    if (given !== undefined && given !== null) {
      adapter.checkClient(given);
      return given;
    }
    let own = this.#own.get(adapter.name);
    if (own === undefined) {
      own = adapter.defaultClient();
      own.catch(() => this.#own.delete(adapter.name)); // not installed: try again next time
      this.#own.set(adapter.name, own);
    }
    return own;
  }

  log(id: string, call: Call, response: unknown, chunks: unknown[] | null, error: unknown, latencyMs: number): void {
    let message: string | null = null;
    let body: unknown;
    if (error !== null && error !== undefined) {
      const name = error instanceof Error ? error.constructor.name || error.name : "Error";
      const text = error instanceof Error ? error.message : String(error);
      message = text ? `${name}: ${text}` : name;
      body = call.adapter.errorBody(error);
    }
    const entry: LogEntry = {
      id, created: call.created, provider: call.adapter, model: call.model, prompt: call.prompt, kwargs: call.kwargs,
      response, chunks, error: message, errorBody: body, latencyMs, metadata: call.metadata, tags: call.tags,
      seq: 0, size: 0, encoded: null,
    };
    this.sender.put(entry);
  }
}
