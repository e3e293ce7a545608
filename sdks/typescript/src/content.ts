/**
 * A prompt's content compiled once, and rendered: messages with placeholders, text, the
 * older system + user shape, and declared inputs checked at render time. A port of the
 * Python SDK's `promptops.sdk.render`, held to the same cases
 * (`contract/fixtures/chat_render/` and `contract/fixtures/active/`):
 *
 * - Variables and placeholders share one namespace.
 * - Inferred variables (those the templates use) are required, whatever their type, unless
 *   `inputs` declares them optional.
 * - Declared inputs (`{name, type, required}`): a required one not given is a
 *   `MissingVariablesError`; a value of another type an `InputTypeError` (`string`,
 *   `number` (not a boolean), `boolean`, `list` (an array), `object` (a plain object)). An
 *   optional one left out (or given null) renders as null. A required one given null is a
 *   type error.
 * - Placeholders (`{type: "placeholder", name}`) are filled with an array of messages,
 *   inserted as given (shallow copies, never templated); not given: nothing, unless declared
 *   required. A message has a `role` among system, developer, user, assistant, tool and a
 *   string `content`; an assistant message may instead have `tool_calls` (and a null or
 *   absent content); a tool message needs a string `tool_call_id`; `name` is a string.
 *   Anything else is a `PlaceholderValueError` naming the placeholder (and the index).
 * - Strict rendering (the default) refuses names that no template uses, no input declares
 *   and no placeholder has (`UnknownVariablesError`).
 * - Errors are checked in this order: missing, unknown, type, placeholder.
 */

import {
  InputTypeError,
  MissingVariablesError,
  PlaceholderValueError,
  UnknownVariablesError,
} from "./errors.js";
import { compileTemplate, type Template } from "./template/index.js";
import { isObject } from "./template/render.js";

export const ROLES = ["system", "developer", "user", "assistant", "tool"] as const;
export const INPUT_TYPES = ["string", "number", "boolean", "list", "object"] as const;
export type InputType = (typeof INPUT_TYPES)[number];
export type Kind = "legacy" | "chat" | "text";

/** A chat message as a render returns it (and as placeholders take them). */
export interface ChatMessage {
  role: string;
  content: string | null;
  name?: string;
  tool_call_id?: string;
  [key: string]: unknown;
}

export interface InputDecl {
  name: string;
  type?: InputType;
  required?: boolean;
  description?: string | null;
}

const IS: Record<InputType, (value: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  number: (v) => typeof v === "number",
  boolean: (v) => typeof v === "boolean",
  list: (v) => Array.isArray(v),
  object: (v) => isObject(v),
};

/** The JSON type name of `value` (null, boolean, number, string, list, object). */
export function jsonType(value: unknown): string {
  if (value === null || value === undefined) return "null";
  for (const name of ["boolean", "number", "string", "list", "object"] as const) {
    if (IS[name](value)) return name;
  }
  return typeof value;
}

/** Content that is not a prompt's (the callers say where it came from). */
export class ContentProblem extends Error {}

type Part = string | { role: string; template: Template; extras: Record<string, string> };

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** A prompt's content, compiled. */
export class Content {
  readonly kind: Kind;
  readonly messages: readonly Record<string, unknown>[];
  readonly systemPrompt: string;
  readonly userTemplate: string;
  readonly system: Template;
  readonly user: Template;
  readonly parts: readonly Part[];
  readonly placeholders: readonly string[];
  readonly variables: readonly string[];
  readonly decls: readonly [string, InputType, boolean][];
  readonly optional: readonly string[];
  readonly required: readonly string[];
  readonly known: ReadonlySet<string>;

  constructor(
    kind: Kind,
    messages: readonly Record<string, unknown>[],
    systemPrompt: string,
    userTemplate: string,
    text: string | undefined,
    inputs: readonly InputDecl[],
  ) {
    this.kind = kind;
    this.messages = messages;
    this.systemPrompt = systemPrompt;
    this.userTemplate = userTemplate;
    const parts: Part[] = [];
    let templates: Template[] = [];
    if (kind === "text") {
      this.system = compileTemplate("");
      this.user = compileField(text ?? "", "text");
      templates = [this.user];
    } else if (kind === "legacy") {
      this.system = compileField(systemPrompt, "system_prompt");
      this.user = compileField(userTemplate, "user_template");
      templates = [this.system, this.user];
    } else {
      this.system = this.user = compileTemplate("");
      messages.forEach((message, i) => {
        if (has(message, "type")) {
          parts.push(message["name"] as string);
          return;
        }
        const template = compileField(message["content"] as string, `messages.${i}.content`);
        const extras: Record<string, string> = {};
        for (const key of ["name", "tool_call_id"]) {
          if (has(message, key)) extras[key] = message[key] as string;
        }
        parts.push({ role: message["role"] as string, template, extras });
        templates.push(template);
      });
    }
    this.parts = parts;
    this.placeholders = parts.filter((p): p is string => typeof p === "string");
    this.variables = [...new Set(templates.flatMap((t) => t.variables))];
    this.decls = inputs.map((d) => [d.name, d.type ?? "string", d.required ?? true]);
    const optional = new Set(this.decls.filter(([, , r]) => !r).map(([n]) => n));
    this.optional = [...optional];
    const declaredRequired = this.decls.filter(([, , r]) => r).map(([n]) => n);
    this.required = [
      ...new Set([...this.variables.filter((n) => !optional.has(n)), ...declaredRequired]),
    ];
    this.known = new Set([
      ...templates.flatMap((t) => t.names),
      ...this.placeholders,
      ...this.decls.map(([n]) => n),
    ]);
  }

  /** `given` (an object the caller owns) checked, with the optional declared inputs not
   * given set to null. */
  check(given: Record<string, unknown>, strict: boolean): Record<string, unknown> {
    const missing = this.required.filter((name) => !has(given, name));
    if (missing.length) throw new MissingVariablesError(missing);
    if (strict) {
      const unknown = Object.keys(given).filter((name) => !this.known.has(name));
      if (unknown.length) throw new UnknownVariablesError(unknown.sort());
    }
    for (const [name, expected, required] of this.decls) {
      if (!has(given, name)) continue;
      const value = given[name];
      if ((value === null || value === undefined) && !required) continue;
      if (!IS[expected](value)) throw new InputTypeError(name, expected, jsonType(value));
    }
    for (const name of this.placeholders) {
      if (!has(given, name)) continue;
      const value = given[name];
      if ((value === null || value === undefined) && this.optional.includes(name)) continue;
      checkMessages(name, value);
    }
    for (const name of this.optional) if (!has(given, name)) given[name] = null;
    return given;
  }

  /** The chat messages (`values` already checked). */
  renderMessages(values: Record<string, unknown>): ChatMessage[] {
    const out: ChatMessage[] = [];
    for (const part of this.parts) {
      if (typeof part === "string") {
        const filled = values[part];
        if (Array.isArray(filled)) for (const m of filled) out.push({ ...(m as ChatMessage) });
        continue;
      }
      out.push({ role: part.role, content: part.template.render(values, { strict: false }), ...part.extras });
    }
    return out;
  }
}

/** Throw `PlaceholderValueError` unless `value` is an array of messages. */
export function checkMessages(name: string, value: unknown): void {
  if (!Array.isArray(value)) {
    throw new PlaceholderValueError(name, `must be a list of messages, got ${jsonType(value)}`);
  }
  value.forEach((message: unknown, i) => {
    const reason = messageProblem(message);
    if (reason !== undefined) throw new PlaceholderValueError(name, reason, i);
  });
}

function messageProblem(message: unknown): string | undefined {
  if (!isObject(message)) return `a message is an object, got ${jsonType(message)}`;
  const role = message["role"];
  if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) {
    return `'role' must be one of ${ROLES.join(", ")}, got ${JSON.stringify(role) ?? "undefined"}`;
  }
  const content = message["content"];
  if (role === "assistant" && has(message, "tool_calls")) {
    const problem = toolCallsProblem(message["tool_calls"]);
    if (problem !== undefined) return problem;
    if (content !== null && content !== undefined && typeof content !== "string") {
      return `'content' must be a string or null, got ${jsonType(content)}`;
    }
  } else if (typeof content !== "string") {
    return `'content' must be a string, got ${jsonType(content)}`;
  }
  if (role === "tool" && typeof message["tool_call_id"] !== "string") {
    return "a tool message needs a 'tool_call_id' string";
  }
  if (has(message, "name") && typeof message["name"] !== "string") {
    return `'name' must be a string, got ${jsonType(message["name"])}`;
  }
  return undefined;
}

function toolCallsProblem(calls: unknown): string | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return "'tool_calls' must be a non-empty list";
  for (const [j, call] of calls.entries()) {
    const fn = isObject(call) ? call["function"] : undefined;
    if (
      !isObject(call) ||
      typeof call["id"] !== "string" ||
      (call["type"] ?? "function") !== "function" ||
      !isObject(fn) ||
      typeof fn["name"] !== "string" ||
      typeof fn["arguments"] !== "string"
    ) {
      return `tool_calls[${j}] must be {id: string, type: 'function', function: {name: string, arguments: string}}`;
    }
  }
  return undefined;
}

// -- compiling -------------------------------------------------------------------------

export interface ContentFields {
  type?: unknown;
  messages?: unknown;
  text?: unknown;
  system_prompt?: unknown;
  user_template?: unknown;
  inputs?: unknown;
}

/** Check and compile a prompt's content. `messages` win over the older
 * `system_prompt`/`user_template` (then derived from them, and must agree when given);
 * with neither, the older fields become the messages. Throws `ContentProblem` naming the
 * field. */
export function compileContent(fields: ContentFields): Content {
  const type = fields.type ?? "chat";
  if (type !== "chat" && type !== "text") {
    throw new ContentProblem(`'type' must be 'chat' or 'text', got ${JSON.stringify(type)}`);
  }
  const systemPrompt = needStr(fields.system_prompt ?? "", "system_prompt");
  const userTemplate = needStr(fields.user_template ?? "", "user_template");
  const declared = checkInputs(fields.inputs);
  const messages = objects(fields.messages, "messages");
  const text = fields.text;
  if ((text !== null && text !== undefined) || type === "text") {
    if (text === null || text === undefined) throw new ContentProblem("'text': a text prompt needs its text");
    needStr(text, "text");
    if (messages.length || systemPrompt || userTemplate) {
      throw new ContentProblem("a text prompt has 'text', not messages (nor the older fields)");
    }
    return new Content("text", [], "", "", text as string, declared);
  }
  if (!messages.length) {
    const system = systemPrompt ? [{ role: "system", content: systemPrompt }] : [];
    const made = [...system, { role: "user", content: userTemplate }];
    return new Content("legacy", made, systemPrompt, userTemplate, undefined, declared);
  }
  checkMessageList(messages);
  const legacy = legacyShape(messages);
  if (legacy === undefined) {
    if (systemPrompt || userTemplate) {
      throw new ContentProblem(
        "'messages' and the older 'system_prompt'/'user_template': give one of them",
      );
    }
    return new Content("chat", messages, "", "", undefined, declared);
  }
  if ((systemPrompt || userTemplate) && (systemPrompt !== legacy[0] || userTemplate !== legacy[1])) {
    throw new ContentProblem("'system_prompt'/'user_template' do not match 'messages'");
  }
  return new Content("legacy", messages, legacy[0], legacy[1], undefined, declared);
}

/** [system_prompt, user_template] when `messages` are one optional system message then one
 * user message with nothing but role and content (the server's rule), else undefined. */
export function legacyShape(messages: readonly Record<string, unknown>[]): [string, string] | undefined {
  if (!messages.length || messages.length > 2) return undefined;
  const plain = (m: Record<string, unknown>): boolean => {
    const keys = Object.keys(m).sort();
    return keys.length === 2 && keys[0] === "content" && keys[1] === "role";
  };
  if (!messages.every(plain)) return undefined;
  const roles = messages.map((m) => m["role"]).join(",");
  if (roles === "user") return ["", messages[0]?.["content"] as string];
  if (roles === "system,user") {
    return [messages[0]?.["content"] as string, messages[1]?.["content"] as string];
  }
  return undefined;
}

function checkMessageList(messages: readonly Record<string, unknown>[]): void {
  const seen = new Set<string>();
  messages.forEach((message, i) => {
    if (has(message, "type")) {
      const name = message["name"];
      if (message["type"] !== "placeholder") throw new ContentProblem(`'messages.${i}.type' must be 'placeholder'`);
      if (typeof name !== "string" || !name) throw new ContentProblem(`'messages.${i}.name' must be a non-empty string`);
      if (seen.has(name)) throw new ContentProblem(`'messages.${i}.name': placeholder '${name}' appears twice`);
      seen.add(name);
      return;
    }
    const role = message["role"];
    if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) {
      throw new ContentProblem(`'messages.${i}.role' must be one of ${ROLES.join(", ")}`);
    }
    compileField(needStr(message["content"], `messages.${i}.content`), `messages.${i}.content`);
    for (const key of ["name", "tool_call_id"]) {
      if (has(message, key)) needStr(message[key], `messages.${i}.${key}`);
    }
  });
}

function checkInputs(inputs: unknown): InputDecl[] {
  const declared = objects(inputs, "inputs");
  const names = new Set<string>();
  declared.forEach((decl, i) => {
    const name = decl["name"];
    if (typeof name !== "string" || !name) throw new ContentProblem(`'inputs.${i}.name' must be a non-empty string`);
    if (names.has(name)) throw new ContentProblem(`'inputs.${i}.name': '${name}' is declared twice`);
    names.add(name);
    if (!(INPUT_TYPES as readonly unknown[]).includes(decl["type"] ?? "string")) {
      throw new ContentProblem(`'inputs.${i}.type' must be one of ${INPUT_TYPES.join(", ")}`);
    }
    if (typeof (decl["required"] ?? true) !== "boolean") {
      throw new ContentProblem(`'inputs.${i}.required' must be a boolean`);
    }
  });
  return declared as unknown as InputDecl[];
}

function objects(value: unknown, name: string): Record<string, unknown>[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isObject)) {
    throw new ContentProblem(`'${name}' is not a list of objects`);
  }
  return value as Record<string, unknown>[];
}

function needStr(value: unknown, name: string): string {
  if (typeof value !== "string") throw new ContentProblem(`'${name}' is not a string`);
  return value;
}

function compileField(source: string, name: string): Template {
  try {
    return compileTemplate(source);
  } catch (err) {
    throw new ContentProblem(`'${name}': ${(err as Error).message}`, { cause: err });
  }
}
