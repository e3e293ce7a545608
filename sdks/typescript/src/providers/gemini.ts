/**
 * Gemini `generateContent` through the official `@google/genai` library (the Python SDK's
 * `providers/gemini.py`, the same mapping, in the library's camelCase). A default client is
 * `new GoogleGenAI({})`: it reads `GOOGLE_API_KEY` / `GEMINI_API_KEY` itself.
 *
 * Leading system and developer messages become `config.systemInstruction` (a later one: an
 * error), the others the `contents` (assistant → role "model", its tool calls →
 * `functionCall` parts; `tool` messages → `functionResponse` parts `{name, id, response:
 * {output: content}}`, the name from the message or from the assistant call it answers).
 * Temperature and max tokens go into `config` (`maxOutputTokens`), and so does the rest:
 *
 * - tools → one tool of `functionDeclarations` (`parametersJsonSchema`: the JSON Schema as
 *   written); `strict`: an error;
 * - `tool_choice` → `toolConfig.functionCallingConfig`: auto / none / required → mode AUTO /
 *   NONE / ANY, a function name → ANY with `allowedFunctionNames`;
 * - `response_format` json_object / json_schema → `responseMimeType` "application/json"
 *   (+ `responseJsonSchema`);
 * - `params`: `top_p` → `topP`, `seed`, `presence_penalty` → `presencePenalty`,
 *   `frequency_penalty` → `frequencyPenalty`, `stop` → `stopSequences`, `reasoning_effort` →
 *   `thinkingConfig.thinkingLevel`.
 *
 * The other options of `run()` go into `config` too (a caller's `config` is merged over
 * ours). The logged response is the wire JSON, without what the library adds
 * (`sdkHttpResponse`, `automaticFunctionCallingHistory`).
 */

import { ConfigurationError } from "../errors.js";
import { Provider, isObject, toJson, type BuildArgs, type Usage } from "./base.js";
import {
  assistantToolCalls, jsonFormat, roleOf, schemaOf, textContent,
  type CallSpec, type Json, type Message, type ToolCall,
} from "./spec.js";

const MODES: Record<string, string> = { auto: "AUTO", none: "NONE", required: "ANY" };
const LEVELS = ["MINIMAL", "LOW", "MEDIUM", "HIGH"];
const NOT_WIRE = ["sdkHttpResponse", "automaticFunctionCallingHistory"];
const PARAM_NAMES: [string, string][] = [
  ["top_p", "topP"], ["seed", "seed"], ["presence_penalty", "presencePenalty"], ["frequency_penalty", "frequencyPenalty"],
];

type J = any;

export class GeminiProvider extends Provider {
  readonly name = "gemini" as const;
  readonly title = "Google Gen AI (Gemini)";
  readonly library = "@google/genai";

  protected makeClient(module: Record<string, unknown>): unknown {
    const GoogleGenAI = module["GoogleGenAI"] as new (options: object) => unknown;
    return new GoogleGenAI({});
  }

  checkClient(client: unknown): void {
    this.requireMethod(client, "models.generateContent", "Google Gen AI (new GoogleGenAI())");
  }

  build({ messages, model, temperature, maxTokens, params, spec }: BuildArgs): Json {
    const config: Json = {};
    const [system, contents] = this.#contents(messages);
    if (system.length) config["systemInstruction"] = system.length === 1 ? system[0] : { parts: system.map((text) => ({ text })) };
    if (temperature !== null) config["temperature"] = temperature;
    if (maxTokens !== null) config["maxOutputTokens"] = maxTokens;
    this.#mapSpec(spec, config);
    const rest: Json = { ...params };
    const given = rest["config"];
    delete rest["config"];
    if (isObject(given)) Object.assign(config, given);
    Object.assign(config, rest);
    const kwargs: Json = { model, contents };
    if (Object.keys(config).length) kwargs["config"] = config;
    return kwargs;
  }

  #contents(messages: readonly Message[]): [string[], Json[]] {
    const system: string[] = [];
    const contents: Json[] = [];
    const names = new Map<string, string>(); // call id -> function name
    let responses: Json[] | null = null;
    messages.forEach((message, i) => {
      const role = roleOf(message, i);
      const content = textContent(message, i);
      if (message["name"] && role !== "tool") throw this.unsupported(`messages[${i}].name`, "Gemini has no participant names");
      if (role === "system" || role === "developer") {
        if (contents.length) {
          throw this.unsupported(`messages[${i}]`, "a system message after the conversation started (only leading system / developer messages become systemInstruction)");
        }
        system.push(content);
        return;
      }
      if (role === "tool") {
        const part = { functionResponse: functionResponse(message, i, content, names) };
        if (responses === null) {
          responses = [part];
          contents.push({ role: "user", parts: responses });
        } else {
          responses.push(part);
        }
        return;
      }
      responses = null;
      const parts: Json[] = content ? [{ text: content }] : [];
      if (role === "assistant") {
        for (const call of assistantToolCalls(message, i)) {
          const functionCall: Json = { name: call.name, args: call.arguments };
          if (call.id) {
            functionCall["id"] = call.id;
            names.set(call.id, call.name);
          }
          parts.push({ functionCall });
        }
      }
      contents.push({ role: role === "assistant" ? "model" : "user", parts: parts.length ? parts : [{ text: "" }] });
    });
    return [system, contents];
  }

  #mapSpec(spec: CallSpec, config: Json): void {
    if (spec.tools) {
      const declarations = spec.tools.map((tool, i) => {
        const fn = tool["function"] as Json;
        if (fn["strict"]) throw this.unsupported(`tools[${i}].function.strict`, "Gemini function declarations have no strict mode (set strict false)");
        const declaration: Json = { name: fn["name"] };
        if (fn["description"]) declaration["description"] = fn["description"];
        if (fn["parameters"] !== null && fn["parameters"] !== undefined) declaration["parametersJsonSchema"] = fn["parameters"];
        return declaration;
      });
      config["tools"] = [{ functionDeclarations: declarations }];
    }
    const choice = spec.toolChoice;
    if (choice !== null) {
      const calling: Json = { mode: MODES[choice] ?? "ANY" };
      if (!(choice in MODES)) calling["allowedFunctionNames"] = [choice];
      config["toolConfig"] = { functionCallingConfig: calling };
    }
    const fmt = jsonFormat(spec);
    if (fmt !== null) {
      config["responseMimeType"] = "application/json";
      if (fmt === "json_schema") config["responseJsonSchema"] = schemaOf(spec);
    }
    const params = spec.params;
    for (const [name, key] of PARAM_NAMES) if (name in params) config[key] = params[name];
    if ("stop" in params) config["stopSequences"] = [...(params["stop"] as string[])];
    const effort = params["reasoning_effort"];
    if (effort !== undefined && effort !== null) {
      if (typeof effort !== "string" || !LEVELS.includes(effort.toUpperCase())) {
        throw this.unsupported("params.reasoning_effort", `${JSON.stringify(effort)} (thinking_level takes ${LEVELS.join(", ").toLowerCase()})`);
      }
      config["thinkingConfig"] = { thinkingLevel: effort.toUpperCase() };
    }
  }

  async create(client: unknown, kwargs: Json, stream: boolean, requestOptions?: Json): Promise<unknown> {
    const models = (client as J).models;
    // Per-request options (httpOptions, abortSignal) belong in config: a copy, not logged.
    const args = requestOptions ? { ...kwargs, config: { ...((kwargs["config"] as Json | undefined) ?? {}), ...requestOptions } } : kwargs;
    return stream ? models.generateContentStream(args) : models.generateContent(args);
  }

  usage(response: unknown): Usage {
    const usage = (response as J)?.usageMetadata;
    if (!usage) return [null, null];
    let output: number | null = usage.candidatesTokenCount ?? null;
    if (usage.thoughtsTokenCount) output = (output ?? 0) + usage.thoughtsTokenCount;
    return [usage.promptTokenCount ?? null, output];
  }

  streamUsage(chunks: readonly unknown[]): Usage {
    for (let i = chunks.length - 1; i >= 0; i--) if ((chunks[i] as J)?.usageMetadata) return this.usage(chunks[i]);
    return [null, null];
  }

  text(response: unknown): string | null {
    const parts: J[] | undefined = (response as J)?.candidates?.[0]?.content?.parts;
    if (!parts?.length) return null;
    const texts = parts.filter((p) => typeof p.text === "string" && !p.thought).map((p) => p.text as string);
    return texts.length ? texts.join("") : null;
  }

  chunkText(chunk: unknown): string {
    return this.text(chunk) ?? "";
  }

  toolCalls(response: unknown): ToolCall[] {
    const parts: J[] = (response as J)?.candidates?.[0]?.content?.parts ?? [];
    return parts
      .filter((p) => p.functionCall?.name)
      .map((p) => ({ id: p.functionCall.id ?? null, name: p.functionCall.name, arguments: { ...(p.functionCall.args ?? {}) } }));
  }

  streamToolCalls(chunks: readonly unknown[]): ToolCall[] {
    return chunks.flatMap((chunk) => this.toolCalls(chunk));
  }

  override errorBody(error: unknown): unknown {
    // The library's ApiError carries the body as JSON text in its message.
    const message = error instanceof Error ? error.message : "";
    const start = message.indexOf("{");
    if (start < 0) return undefined;
    try {
      return JSON.parse(message.slice(start));
    } catch {
      return undefined;
    }
  }

  override dump(response: unknown): Json | null {
    const value = withoutNulls(toJson(response));
    if (!isObject(value)) return { value };
    for (const key of NOT_WIRE) delete value[key];
    return value;
  }

  /** One response built from the chunks: each candidate's text parts concatenated, the last
   * finish reason and usage (absent if the stream was cut). */
  merge(chunks: readonly unknown[]): Json | null {
    if (!chunks.length) return null;
    const merged: Json = {};
    const candidates = new Map<number, J>();
    for (const chunk of chunks) {
      const data: J = this.dump(chunk) ?? {};
      const list: J[] = data.candidates ?? [];
      delete data.candidates;
      for (const candidate of list) {
        const index = candidate.index ?? 0;
        let slot = candidates.get(index);
        if (slot === undefined) candidates.set(index, (slot = { content: { parts: [], role: "model" } }));
        const content = candidate.content ?? {};
        delete candidate.content;
        extendParts(slot.content.parts, content.parts ?? []);
        if (content.role) slot.content.role = content.role;
        Object.assign(slot, candidate);
      }
      Object.assign(merged, data);
    }
    merged["candidates"] = [...candidates.keys()].sort((a, b) => a - b).map((i) => candidates.get(i));
    return merged;
  }
}

function functionResponse(message: Message, index: number, content: string, names: Map<string, string>): Json {
  const id = message["tool_call_id"] as string | undefined;
  const name = (message["name"] as string | undefined) || (id ? names.get(id) : undefined);
  if (!name) {
    throw new ConfigurationError(
      `messages[${index}]: Gemini needs the function name of a tool message (its name, or a tool_call_id of an earlier assistant tool call)`,
    );
  }
  const response: Json = { name, response: { output: content } };
  if (id) response["id"] = id;
  return response;
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
  return out;
}

const TEXTISH = (part: Json): boolean => Object.keys(part).every((k) => k === "text" || k === "thought");

function extendParts(parts: Json[], added: Json[]): void {
  for (const part of added) {
    const last = parts[parts.length - 1];
    if (last !== undefined && TEXTISH(part) && TEXTISH(last) && "text" in part && "text" in last && Boolean(part["thought"]) === Boolean(last["thought"])) {
      last["text"] = String(last["text"]) + String(part["text"]);
    } else {
      parts.push({ ...part });
    }
  }
}
