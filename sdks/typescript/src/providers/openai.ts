/**
 * OpenAI Chat Completions through the official `openai` library (the Python SDK's
 * `providers/openai.py`, the same mapping). A default client is `new OpenAI()`: it reads
 * `OPENAI_API_KEY` and `OPENAI_BASE_URL` itself. `max_tokens` is sent as
 * `max_completion_tokens`; streams ask for usage (`stream_options: {include_usage: true}`)
 * unless the caller passed `stream_options`. The version's tools, response format and params
 * are the API's own: sent as they are (`tool_choice` naming a function becomes
 * `{type: "function", function: {name}}`). An assistant message's `tool_calls` go in the
 * API's form (arguments as JSON text); a `tool` message must carry its `tool_call_id`.
 */

import { ConfigurationError } from "../errors.js";
import { Provider, isObject, toJson, type BuildArgs, type Usage } from "./base.js";
import { assistantToolCalls, parseArguments, requireIds, roleOf, type Json, type Message, type ToolCall } from "./spec.js";

const PLAIN = new Set(["role", "content", "name"]);
const PLAIN_ROLES = new Set(["system", "developer", "user", "assistant"]);

type J = any; // the library's objects, read as their wire JSON

export class OpenAIProvider extends Provider {
  readonly name = "openai" as const;
  readonly title = "OpenAI";
  readonly library = "openai";

  protected makeClient(module: Record<string, unknown>): unknown {
    const OpenAI = (module["default"] ?? module["OpenAI"]) as new () => unknown;
    return new OpenAI();
  }

  checkClient(client: unknown): void {
    this.requireMethod(client, "chat.completions.create", "OpenAI (new OpenAI())");
  }

  build({ messages, model, temperature, maxTokens, params, stream, spec }: BuildArgs): Json {
    const kwargs: Json = { model, messages: openaiMessages(messages) };
    if (temperature !== null) kwargs["temperature"] = temperature;
    if (maxTokens !== null) kwargs["max_completion_tokens"] = maxTokens;
    if (spec.tools) kwargs["tools"] = spec.tools;
    const choice = spec.toolChoice;
    if (choice !== null) {
      kwargs["tool_choice"] = ["auto", "none", "required"].includes(choice) ? choice : { type: "function", function: { name: choice } };
    }
    if (spec.responseFormat !== null) kwargs["response_format"] = spec.responseFormat;
    Object.assign(kwargs, spec.params, params);
    if (stream) {
      kwargs["stream"] = true;
      if (!("stream_options" in kwargs)) kwargs["stream_options"] = { include_usage: true };
    }
    return kwargs;
  }

  async create(client: unknown, kwargs: Json, _stream: boolean, requestOptions?: Json): Promise<unknown> {
    return (client as J).chat.completions.create(kwargs, requestOptions);
  }

  usage(response: unknown): Usage {
    const usage = (response as J)?.usage;
    if (!usage) return [null, null];
    return [usage.prompt_tokens ?? null, usage.completion_tokens ?? null];
  }

  streamUsage(chunks: readonly unknown[]): Usage {
    for (let i = chunks.length - 1; i >= 0; i--) if ((chunks[i] as J)?.usage) return this.usage(chunks[i]);
    return [null, null];
  }

  text(response: unknown): string | null {
    const choices = (response as J)?.choices;
    if (!Array.isArray(choices) || !choices.length) return null;
    return choices[0].message?.content ?? null;
  }

  chunkText(chunk: unknown): string {
    const choices = (chunk as J)?.choices;
    if (!Array.isArray(choices) || !choices.length) return "";
    return choices[0].delta?.content ?? "";
  }

  toolCalls(response: unknown): ToolCall[] {
    const choices = (response as J)?.choices;
    if (!Array.isArray(choices) || !choices.length) return [];
    const calls: J[] = choices[0].message?.tool_calls ?? [];
    return calls
      .filter((call) => call?.function)
      .map((call, i) => ({
        id: call.id ?? null,
        name: call.function.name,
        arguments: parseArguments(call.function.arguments ?? null, `tool_calls[${i}].arguments`),
      }));
  }

  streamToolCalls(chunks: readonly unknown[]): ToolCall[] {
    const slots = new Map<number, [string | null, string, string]>();
    for (const chunk of chunks as J[]) {
      for (const choice of chunk?.choices ?? []) {
        if (choice.index !== 0 || !choice.delta) continue;
        for (const call of choice.delta.tool_calls ?? []) {
          let slot = slots.get(call.index);
          if (slot === undefined) slots.set(call.index, (slot = [null, "", ""]));
          if (call.id) slot[0] = call.id;
          if (call.function) {
            slot[1] += call.function.name ?? "";
            slot[2] += call.function.arguments ?? "";
          }
        }
      }
    }
    return [...slots.keys()].sort((a, b) => a - b).map((index, n) => {
      const [id, name, args] = slots.get(index) as [string | null, string, string];
      return { id, name, arguments: parseArguments(args, `tool_calls[${n}].arguments`) };
    });
  }

  /** A `chat.completion` object built from the chunks (content, refusal and tool calls
   * concatenated per choice; `finish_reason` null if the stream was cut). */
  merge(chunks: readonly unknown[]): Json | null {
    if (!chunks.length) return null;
    const first = chunks[0] as J;
    const merged: Json = { id: first.id, object: "chat.completion", created: first.created, model: first.model };
    const choices = new Map<number, J>();
    let usage: unknown = null;
    for (const chunk of chunks as J[]) {
      if (chunk.usage !== null && chunk.usage !== undefined) usage = chunk.usage;
      for (const choice of chunk.choices ?? []) mergeChoice(choices, choice);
    }
    const list = [...choices.keys()].sort((a, b) => a - b).map((i) => choices.get(i));
    for (const choice of list) {
      const calls: Map<number, J> | undefined = choice.message._tool_calls;
      delete choice.message._tool_calls;
      if (calls?.size) choice.message.tool_calls = [...calls.keys()].sort((a, b) => a - b).map((i) => calls.get(i));
    }
    merged["choices"] = list;
    merged["usage"] = toJson(usage);
    const last = chunks[chunks.length - 1] as J;
    for (const key of ["system_fingerprint", "service_tier"]) {
      if (last[key] !== null && last[key] !== undefined) merged[key] = last[key];
    }
    return merged;
  }
}

function openaiMessages(messages: readonly Message[]): unknown[] {
  if (messages.every((m) => Object.keys(m).every((k) => PLAIN.has(k)) && PLAIN_ROLES.has(m["role"] as string))) {
    return [...messages];
  }
  return messages.map((message, i) => {
    const role = roleOf(message, i);
    const entry: Json = { role, content: message["content"] ?? null };
    if (role === "tool") {
      const id = message["tool_call_id"];
      if (!id) throw new ConfigurationError(`messages[${i}].tool_call_id: a tool message needs the id of the call it answers`);
      entry["tool_call_id"] = id;
    } else if (message["name"]) {
      entry["name"] = message["name"];
    }
    if (role === "assistant") {
      const calls = assistantToolCalls(message, i);
      if (calls.length) {
        requireIds(calls, i, "OpenAI");
        entry["tool_calls"] = calls.map((call) => ({
          id: call.id,
          type: "function",
          function: { name: call.name, arguments: JSON.stringify(call.arguments) },
        }));
        if (!entry["content"]) entry["content"] = null;
      }
    }
    return entry;
  });
}

function mergeChoice(choices: Map<number, J>, choice: J): void {
  let entry = choices.get(choice.index);
  if (entry === undefined) {
    entry = { index: choice.index, message: { role: "assistant", content: null }, finish_reason: null };
    choices.set(choice.index, entry);
  }
  const message = entry.message;
  const delta = choice.delta;
  if (isObject(delta)) {
    const d = delta as J;
    if (d.role) message.role = d.role;
    if (d.content) message.content = (message.content ?? "") + d.content;
    if (d.refusal) message.refusal = (message.refusal ?? "") + d.refusal;
    for (const call of d.tool_calls ?? []) {
      const calls: Map<number, J> = (message._tool_calls ??= new Map());
      let slot = calls.get(call.index);
      if (slot === undefined) {
        slot = { id: null, type: "function", function: { name: "", arguments: "" } };
        calls.set(call.index, slot);
      }
      if (call.id) slot.id = call.id;
      if (call.type) slot.type = call.type;
      if (call.function) {
        slot.function.name += call.function.name ?? "";
        slot.function.arguments += call.function.arguments ?? "";
      }
    }
  }
  if (choice.finish_reason !== null && choice.finish_reason !== undefined) entry.finish_reason = choice.finish_reason;
}
