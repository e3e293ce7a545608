/**
 * Anthropic Messages through the official `@anthropic-ai/sdk` library (the Python SDK's
 * `providers/anthropic.py`, the same mapping). A default client is `new Anthropic()`: it
 * reads `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` itself. The Messages API requires
 * `max_tokens`: a version without one sends `DEFAULT_MAX_TOKENS`. The library's
 * `messages.create` has no `temperature` (as anthropic 2.x in Python): the version's is left
 * out, and a `temperature` passed to `run()` explicitly is sent in the body as it is.
 * Streams are the raw event stream (`messages.create({stream: true})`).
 *
 * - leading system and developer messages → `system` (a string, or text blocks when there
 *   are several); a later one → a `{role: "system"}` message;
 * - an assistant message's tool calls → `tool_use` blocks; `tool` messages → a user message
 *   of `tool_result` blocks (consecutive ones share it); message `name`s: an error;
 * - tools → `{name, description, input_schema, strict}`; `tool_choice` auto / required /
 *   none / a name → `{type: "auto" | "any" | "none" | "tool", name}`;
 * - `response_format` `json_schema` → `output_config.format`; `json_object`: an error;
 * - `params`: `stop` → `stop_sequences`, `reasoning_effort` low / medium / high →
 *   `output_config.effort`; `top_p`, `seed`, `presence_penalty`, `frequency_penalty`: errors.
 *
 * Input tokens are `input_tokens` plus the cache-creation and cache-read input tokens.
 */

import { ConfigurationError } from "../errors.js";
import { Provider, toJson, type BuildArgs, type Usage } from "./base.js";
import {
  assistantToolCalls, jsonFormat, parseArguments, requireIds, roleOf, schemaOf, textContent,
  type CallSpec, type Json, type Message, type ToolCall,
} from "./spec.js";

export const DEFAULT_MAX_TOKENS = 1024;
const CHOICES: Record<string, string> = { auto: "auto", required: "any", none: "none" };
const EFFORTS = ["low", "medium", "high"];

type J = any;

export class AnthropicProvider extends Provider {
  readonly name = "anthropic" as const;
  readonly title = "Anthropic";
  readonly library = "@anthropic-ai/sdk";

  protected makeClient(module: Record<string, unknown>): unknown {
    const Anthropic = (module["default"] ?? module["Anthropic"]) as new () => unknown;
    return new Anthropic();
  }

  checkClient(client: unknown): void {
    this.requireMethod(client, "messages.create", "Anthropic (new Anthropic())");
  }

  build({ messages, model, temperature, maxTokens, params, stream, temperatureGiven, spec }: BuildArgs): Json {
    const kwargs: Json = { model, max_tokens: maxTokens ?? DEFAULT_MAX_TOKENS };
    const [system, out] = this.#messages(messages);
    kwargs["messages"] = out;
    if (system.length) kwargs["system"] = system.length === 1 ? system[0] : system.map((text) => ({ type: "text", text }));
    this.#mapSpec(spec, kwargs);
    Object.assign(kwargs, params);
    if (temperature !== null && temperatureGiven && !("temperature" in kwargs)) kwargs["temperature"] = temperature;
    if (stream) kwargs["stream"] = true;
    return kwargs;
  }

  #messages(messages: readonly Message[]): [string[], Json[]] {
    const system: string[] = [];
    const out: Json[] = [];
    let results: Json[] | null = null; // the open user message of tool results
    messages.forEach((message, i) => {
      const role = roleOf(message, i);
      const content = textContent(message, i);
      if (message["name"] && role !== "tool") throw this.unsupported(`messages[${i}].name`, "the Messages API has no participant names");
      if (role === "system" || role === "developer") {
        if (!out.length) {
          system.push(content);
          return;
        }
        out.push({ role: "system", content });
      } else if (role === "tool") {
        const id = message["tool_call_id"];
        if (!id) throw new ConfigurationError(`messages[${i}].tool_call_id: a tool message needs the id of the call it answers`);
        const block = { type: "tool_result", tool_use_id: id, content };
        if (results === null) {
          results = [block];
          out.push({ role: "user", content: results });
        } else {
          results.push(block);
        }
        return;
      } else if (role === "assistant" && Array.isArray(message["tool_calls"]) && message["tool_calls"].length) {
        const calls = assistantToolCalls(message, i);
        requireIds(calls, i, "Anthropic");
        const blocks: Json[] = content ? [{ type: "text", text: content }] : [];
        for (const c of calls) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: c.arguments });
        out.push({ role: "assistant", content: blocks });
      } else {
        out.push({ role, content });
      }
      results = null;
    });
    return [system, out];
  }

  #mapSpec(spec: CallSpec, kwargs: Json): void {
    if (spec.tools) kwargs["tools"] = spec.tools.map((tool) => anthropicTool(tool["function"] as Json));
    const choice = spec.toolChoice;
    if (choice !== null) {
      const kind = CHOICES[choice];
      kwargs["tool_choice"] = kind ? { type: kind } : { type: "tool", name: choice };
    }
    const output: Json = {};
    const fmt = jsonFormat(spec);
    if (fmt === "json_object") {
      throw this.unsupported("response_format", "'json_object' (structured outputs need a schema: use 'json_schema')");
    }
    if (fmt === "json_schema") output["format"] = { type: "json_schema", schema: schemaOf(spec) };
    const params = spec.params;
    for (const name of ["seed", "presence_penalty", "frequency_penalty"]) {
      if (name in params) throw this.unsupported(`params.${name}`, "the Messages API has no such parameter");
    }
    if ("top_p" in params) throw this.unsupported("params.top_p", "the installed @anthropic-ai/sdk's messages.create has none");
    if ("stop" in params) kwargs["stop_sequences"] = [...(params["stop"] as string[])];
    const effort = params["reasoning_effort"];
    if (effort !== undefined && effort !== null) {
      if (typeof effort !== "string" || !EFFORTS.includes(effort)) {
        throw this.unsupported("params.reasoning_effort", `${JSON.stringify(effort)} (output_config.effort takes ${EFFORTS.join(", ")})`);
      }
      output["effort"] = effort;
    }
    if (Object.keys(output).length) kwargs["output_config"] = output;
  }

  async create(client: unknown, kwargs: Json, _stream: boolean, requestOptions?: Json): Promise<unknown> {
    return (client as J).messages.create(kwargs, requestOptions);
  }

  usage(response: unknown): Usage {
    const usage = (response as J)?.usage;
    if (!usage) return [null, null];
    return [inputTokens(usage), usage.output_tokens ?? null];
  }

  streamUsage(chunks: readonly unknown[]): Usage {
    let input: number | null = null;
    let output: number | null = null;
    for (const event of chunks as J[]) {
      if (event.type === "message_start") [input, output] = this.usage(event.message);
      else if (event.type === "message_delta" && event.usage) {
        output = event.usage.output_tokens ?? null;
        if (event.usage.input_tokens !== null && event.usage.input_tokens !== undefined) input = inputTokens(event.usage);
      }
    }
    return [input, output];
  }

  text(response: unknown): string | null {
    const content = (response as J)?.content;
    if (!Array.isArray(content)) return null;
    return content.filter((b: J) => b.type === "text").map((b: J) => b.text).join("");
  }

  chunkText(chunk: unknown): string {
    const event = chunk as J;
    return event?.type === "content_block_delta" && event.delta?.type === "text_delta" ? String(event.delta.text) : "";
  }

  toolCalls(response: unknown): ToolCall[] {
    const content: J[] = (response as J)?.content ?? [];
    return content.filter((b) => b.type === "tool_use").map((b) => ({ id: b.id ?? null, name: b.name, arguments: { ...(b.input ?? {}) } }));
  }

  streamToolCalls(chunks: readonly unknown[]): ToolCall[] {
    const slots = new Map<number, [string | null, string, Json | null, string]>();
    for (const event of chunks as J[]) {
      if (event.type === "content_block_start" && event.content_block?.type === "tool_use") {
        const block = event.content_block;
        slots.set(event.index, [block.id ?? null, block.name, block.input ?? null, ""]);
      } else if (event.type === "content_block_delta" && event.delta?.type === "input_json_delta") {
        const slot = slots.get(event.index);
        if (slot !== undefined) slot[3] += event.delta.partial_json;
      }
    }
    return [...slots.keys()].sort((a, b) => a - b).map((index, n) => {
      const [id, name, start, partial] = slots.get(index) as [string | null, string, Json | null, string];
      return { id, name, arguments: partial ? parseArguments(partial, `tool_calls[${n}].arguments`) : { ...(start ?? {}) } };
    });
  }

  /** A `message` object built from the events (text, thinking and tool input concatenated
   * per block; `stop_reason` null if the stream was cut). */
  merge(chunks: readonly unknown[]): Json | null {
    let message: J = null;
    const blocks = new Map<number, J>();
    const partial = new Map<number, string>();
    for (const event of chunks as J[]) {
      if (event.type === "message_start") message = toJson(event.message);
      else if (event.type === "content_block_start") blocks.set(event.index, toJson(event.content_block));
      else if (event.type === "content_block_delta") {
        let block = blocks.get(event.index);
        if (block === undefined) blocks.set(event.index, (block = { type: "text", text: "" }));
        const delta = event.delta;
        if (delta.type === "text_delta") block.text = (block.text ?? "") + delta.text;
        else if (delta.type === "input_json_delta") partial.set(event.index, (partial.get(event.index) ?? "") + delta.partial_json);
        else if (delta.type === "thinking_delta") block.thinking = (block.thinking ?? "") + delta.thinking;
        else if (delta.type === "signature_delta") block.signature = delta.signature;
      } else if (event.type === "message_delta" && message !== null) {
        Object.assign(message, toJson(event.delta));
        const usage = (message.usage ??= {});
        for (const [k, v] of Object.entries((toJson(event.usage) ?? {}) as Json)) if (v !== null) usage[k] = v;
      }
    }
    if (message === null) return null;
    for (const [index, text] of partial) {
      const block = blocks.get(index);
      try {
        block.input = text ? JSON.parse(text) : {};
      } catch {
        block.input = text;
      }
    }
    message.content = [...blocks.keys()].sort((a, b) => a - b).map((i) => blocks.get(i));
    return message as Json;
  }
}

function anthropicTool(fn: Json): Json {
  const tool: Json = { name: fn["name"], input_schema: fn["parameters"] ?? { type: "object", properties: {} } };
  if (fn["description"]) tool["description"] = fn["description"];
  if (fn["strict"] !== null && fn["strict"] !== undefined) tool["strict"] = fn["strict"];
  return tool;
}

function inputTokens(usage: J): number | null {
  const tokens = usage.input_tokens;
  if (tokens === null || tokens === undefined) return null;
  return tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}
