/**
 * The provider-neutral side of a `run()` call (the Python SDK's `providers/spec.py`): the
 * version's `tools`, `tool_choice`, `response_format` and `params` (`top_p`, `stop`, `seed`,
 * `presence_penalty`, `frequency_penalty`, `reasoning_effort`) in the contract's form,
 * gathered into a `CallSpec`; an option of `run()` with one of these names replaces the
 * version's value (`null` leaves it out of the call).
 *
 * Rendered messages are `{role: system|developer|user|assistant|tool, content, name?,
 * tool_call_id?, tool_calls?}`; an assistant message's `tool_calls` may be in the OpenAI form
 * (`{id, type: "function", function: {name, arguments: JSON text}}`) or the flat form
 * `{id, name, arguments: {...}}` (what `RunResult.toolCalls` gives).
 */

import { ConfigurationError, InvalidOutputError } from "../errors.js";
import type { Prompt } from "../prompt.js";

export type Json = Record<string, unknown>;
export type Message = Readonly<Json>;

/** A function call the model asked for, the same for every provider. `id` is what a `tool`
 * message answering it carries as `tool_call_id` (null where the provider gave none). */
export interface ToolCall {
  id: string | null;
  name: string;
  arguments: Json;
}

export const PARAMS = ["top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort"] as const;
export const CALL_FIELDS: readonly string[] = ["tools", "tool_choice", "response_format", ...PARAMS];
const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);
const FORMATS = new Set(["text", "json_object", "json_schema"]);

/** What a call asks beyond messages, model, temperature and max tokens (neutral form). */
export interface CallSpec {
  tools: Json[] | null;
  toolChoice: string | null;
  responseFormat: Json | null;
  params: Json;
}

export const EMPTY_SPEC: CallSpec = Object.freeze({ tools: null, toolChoice: null, responseFormat: null, params: Object.freeze({}) });

/** "json_object" or "json_schema" when the output must be JSON, else null. */
export function jsonFormat(spec: CallSpec): "json_object" | "json_schema" | null {
  const kind = spec.responseFormat?.["type"];
  return kind === "json_object" || kind === "json_schema" ? kind : null;
}

/** The JSON Schema of a `json_schema` response format. */
export function schemaOf(spec: CallSpec): Json | null {
  if (jsonFormat(spec) !== "json_schema") return null;
  return ((spec.responseFormat as Json)["json_schema"] as Json)["schema"] as Json;
}

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The call's spec from the version, with `overrides` (of the same names, taken out of it)
 * replacing its values. */
export function callSpec(prompt: Prompt, overrides: Json): CallSpec {
  const given = CALL_FIELDS.filter((name) => name in overrides);
  const params = prompt.params as Json;
  if (prompt.tools === null && prompt.toolChoice === null && prompt.responseFormat === null &&
      Object.keys(params).length === 0 && given.length === 0) {
    return EMPTY_SPEC;
  }
  const values: Json = {
    tools: prompt.tools,
    tool_choice: prompt.toolChoice,
    response_format: prompt.responseFormat,
  };
  for (const name of PARAMS) values[name] = params[name] ?? null;
  for (const name of given) {
    values[name] = overrides[name] ?? null;
    delete overrides[name];
  }
  const chosen: Json = {};
  for (const name of PARAMS) if (values[name] !== null && values[name] !== undefined) chosen[name] = values[name];
  if (typeof chosen["stop"] === "string") chosen["stop"] = [chosen["stop"]]; // OpenAI also takes one string
  const tools = checkTools(values["tools"]);
  const fmt = checkFormat(values["response_format"]);
  let choice = values["tool_choice"];
  if (tools === null && given.includes("tools") && !given.includes("tool_choice")) choice = null;
  const toolChoice = checkChoice(choice, tools);
  if (tools === null && toolChoice === null && fmt === null && Object.keys(chosen).length === 0) return EMPTY_SPEC;
  return { tools, toolChoice, responseFormat: fmt, params: chosen };
}

function checkTools(tools: unknown): Json[] | null {
  if (tools === null || tools === undefined) return null;
  if (!Array.isArray(tools)) throw new ConfigurationError(`tools must be a list of tools, not ${typeof tools}`);
  const out = tools.map((tool: unknown, i) => {
    const fn = isObject(tool) ? tool["function"] : undefined;
    if (!isObject(tool) || (tool["type"] ?? "function") !== "function" || !isObject(fn) || typeof fn["name"] !== "string") {
      throw new ConfigurationError(
        `tools[${i}]: expected {"type": "function", "function": {"name": ..., "parameters": {...}}}, got ${JSON.stringify(tool)}`,
      );
    }
    if (fn["parameters"] !== undefined && fn["parameters"] !== null && !isObject(fn["parameters"])) {
      throw new ConfigurationError(`tools[${i}].function.parameters must be a JSON Schema`);
    }
    return { ...tool };
  });
  return out.length ? out : null;
}

function checkChoice(choice: unknown, tools: Json[] | null): string | null {
  if (choice === null || choice === undefined) return null;
  if (typeof choice !== "string") {
    throw new ConfigurationError(`tool_choice must be 'auto', 'none', 'required' or a function name, not ${JSON.stringify(choice)}`);
  }
  const names = (tools ?? []).map((tool) => (tool["function"] as Json)["name"]);
  if (choice === "auto" || choice === "none") return names.length ? choice : null;
  if (choice === "required") {
    if (!names.length) throw new ConfigurationError("tool_choice: 'required' needs tools");
    return choice;
  }
  if (!names.includes(choice)) throw new ConfigurationError(`tool_choice: '${choice}' is not one of the tools`);
  return choice;
}

function checkFormat(fmt: unknown): Json | null {
  if (fmt === null || fmt === undefined) return null;
  const kind = isObject(fmt) ? fmt["type"] : undefined;
  if (typeof kind !== "string" || !FORMATS.has(kind)) {
    throw new ConfigurationError(`response_format must be {type: 'text' | 'json_object' | 'json_schema'}, not ${JSON.stringify(fmt)}`);
  }
  if (kind === "text") return null;
  if (kind === "json_schema") {
    const spec = (fmt as Json)["json_schema"];
    if (!isObject(spec) || !isObject(spec["schema"])) {
      throw new ConfigurationError("response_format.json_schema must be {name, description?, schema, strict}");
    }
  }
  return { ...(fmt as Json) };
}

// -- messages ---------------------------------------------------------------------------

export function roleOf(message: Message, index: number): string {
  const role = message["role"];
  if (typeof role !== "string" || !ROLES.has(role)) {
    throw new ConfigurationError(`messages[${index}].role: unknown role ${JSON.stringify(role)}`);
  }
  return role;
}

/** The tool calls of a rendered assistant message. */
export function assistantToolCalls(message: Message, index: number): ToolCall[] {
  const calls = message["tool_calls"];
  if (!Array.isArray(calls) || !calls.length) return [];
  return calls.map((call: unknown, j) => {
    const where = `messages[${index}].tool_calls[${j}]`;
    if (!isObject(call)) throw new ConfigurationError(`${where}: expected an object, got ${JSON.stringify(call)}`);
    const fn = call["function"];
    const source = isObject(fn) ? fn : call;
    const name = source["name"];
    if (typeof name !== "string" || !name) throw new ConfigurationError(`${where}: no function name`);
    let args = source["arguments"];
    if (typeof args === "string" || args === null || args === undefined) {
      try {
        args = parseArguments(args ?? null, `${where}.arguments`);
      } catch (err) {
        throw new ConfigurationError((err as Error).message);
      }
    } else if (!isObject(args)) {
      throw new ConfigurationError(`${where}.arguments must be a JSON object`);
    }
    const id = call["id"];
    return { id: id === null || id === undefined ? null : String(id), name, arguments: { ...(args as Json) } };
  });
}

export function requireIds(calls: ToolCall[], index: number, title: string): void {
  calls.forEach((call, j) => {
    if (!call.id) throw new ConfigurationError(`messages[${index}].tool_calls[${j}].id: ${title} needs the id of each call`);
  });
}

export function textContent(message: Message, index: number): string {
  const content = message["content"];
  if (content === null || content === undefined) return "";
  if (typeof content !== "string") {
    throw new ConfigurationError(`messages[${index}].content must be text, not ${Array.isArray(content) ? "a list" : typeof content}`);
  }
  return content;
}

/** A tool call's arguments (JSON text) as an object; "" or null is `{}`. */
export function parseArguments(raw: string | null, field: string): Json {
  if (raw === null || !raw.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InvalidOutputError(field, `not valid JSON (${(err as Error).message})`, raw);
  }
  if (!isObject(value)) throw new InvalidOutputError(field, "not a JSON object", raw);
  return value;
}

/** `text` parsed as the JSON `spec` asks for (null for text output). */
export function parseOutput(text: string | null, spec: CallSpec): unknown {
  const kind = jsonFormat(spec);
  if (kind === null) return null;
  if (text === null || !text.trim()) throw new InvalidOutputError("parsed", "the reply has no text to parse as JSON", text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidOutputError("parsed", `the reply is not JSON (${(err as Error).message})`, text);
  }
  if (kind === "json_object" && !isObject(value)) throw new InvalidOutputError("parsed", "the reply is not a JSON object", text);
  return value;
}
