/** `Prompt`: one fetched prompt version, immutable, its templates compiled once. */

import { compileContent, ContentProblem, type ChatMessage, type Content, type InputDecl } from "./content.js";
import { ConfigurationError, InvalidResponseError, PromptOpsError } from "./errors.js";
import { isObject } from "./template/render.js";
import type { components } from "./wire.js";

/** A prompt as the server sends it: `/active` (with the deployment fields) or
 * `/versions/{n}` (types generated from contract/openapi.json). */
export type PromptPayload = components["schemas"]["ActivePromptOut"] | components["schemas"]["VersionOut"];

/** What `Prompt.render` returns: a chat prompt's messages, or a text prompt's text. */
export type Rendered = ChatMessage[] | string;

/** The second argument of `render`: `strict`, and values given by name (placeholders such
 * as `history`, or any variable), merged over the first argument's. */
export interface PromptRenderOptions {
  /** Refuse names the prompt does not know (default true). */
  strict?: boolean;
  /** The messages of a placeholder named `history` (any other name works the same way). */
  history?: ChatMessage[];
  [name: string]: unknown;
}

/** A fallback: a user template, the fields of a prompt payload, or a Prompt. */
export type Fallback = string | Prompt | Readonly<Record<string, unknown>>;

const FALLBACK_FIELDS = new Set([
  "slug", "version", "environment", "system_prompt", "user_template", "type", "messages",
  "text", "inputs", "params", "tools", "tool_choice", "response_format", "model",
  "temperature", "max_tokens", "metadata", "commit_message", "author",
]);

type Json = Record<string, unknown>;

/**
 * A prompt version as served to the application (`contract/schemas/prompt.json`), read-only.
 * `isStale`: the server could not be reached (or answered 5xx) when this value should have
 * been revalidated, so the last good value is served. `isFallback`: nothing was available
 * and this is the fallback the caller passed.
 */
export class Prompt {
  readonly slug: string;
  readonly version: number | null;
  readonly type: "chat" | "text";
  readonly messages: readonly Json[];
  readonly text: string | null;
  /** The older shape's fields: set when the messages are one optional system message and
   * one user message, else "". */
  readonly systemPrompt: string;
  readonly userTemplate: string;
  /** The variables the templates need, in order of first use. */
  readonly variables: readonly string[];
  readonly inputs: readonly InputDecl[];
  readonly params: Readonly<Json>;
  readonly tools: readonly Json[] | null;
  readonly toolChoice: string | null;
  readonly responseFormat: Readonly<Json> | null;
  readonly snippets: readonly Json[];
  readonly model: string | null;
  readonly temperature: number | null;
  readonly maxTokens: number | null;
  readonly metadata: Readonly<Json>;
  readonly commitMessage: string | null;
  readonly author: string | null;
  readonly createdAt: string | null;
  readonly environment: string | null;
  readonly deployedAt: string | null;
  readonly deploymentId: number | null;
  readonly isStale: boolean;
  readonly isFallback: boolean;
  /** The server's JSON this prompt was read from (undefined for a fallback). */
  readonly payload: Readonly<PromptPayload> | undefined;
  readonly #content: Content;

  private constructor(fields: Json, content: Content, flags: { isStale: boolean; isFallback: boolean }, payload?: Json) {
    this.#content = content;
    this.slug = fields["slug"] as string;
    this.version = (fields["version"] as number | null | undefined) ?? null;
    this.type = content.kind === "text" ? "text" : "chat";
    this.messages = content.messages;
    this.text = content.kind === "text" ? (fields["text"] as string) : null;
    this.systemPrompt = content.systemPrompt;
    this.userTemplate = content.userTemplate;
    this.variables = content.variables;
    this.inputs = (fields["inputs"] as InputDecl[] | null | undefined) ?? [];
    this.params = (fields["params"] as Json | null | undefined) ?? {};
    this.tools = (fields["tools"] as Json[] | null | undefined) ?? null;
    this.toolChoice = (fields["tool_choice"] as string | null | undefined) ?? null;
    this.responseFormat = (fields["response_format"] as Json | null | undefined) ?? null;
    this.snippets = (fields["snippets"] as Json[] | null | undefined) ?? [];
    this.model = (fields["model"] as string | null | undefined) ?? null;
    this.temperature = (fields["temperature"] as number | null | undefined) ?? null;
    this.maxTokens = (fields["max_tokens"] as number | null | undefined) ?? null;
    this.metadata = (fields["metadata"] as Json | null | undefined) ?? {};
    this.commitMessage = (fields["commit_message"] as string | null | undefined) ?? null;
    this.author = (fields["author"] as string | null | undefined) ?? null;
    this.createdAt = (fields["created_at"] as string | null | undefined) ?? null;
    this.environment = (fields["environment"] as string | null | undefined) ?? null;
    this.deployedAt = (fields["deployed_at"] as string | null | undefined) ?? null;
    this.deploymentId = (fields["deployment_id"] as number | null | undefined) ?? null;
    this.isStale = flags.isStale;
    this.isFallback = flags.isFallback;
    this.payload = payload as PromptPayload | undefined;
    Object.freeze(this);
  }

  /**
   * A chat prompt's messages (`{role, content}`, plus `name` / `tool_call_id` when the
   * prompt's message has them; each placeholder replaced by the messages given for it), or a
   * text prompt's text. An older-shape prompt renders `[system?, user]`, the system message
   * left out when the system prompt is empty.
   *
   * Errors: `MissingVariablesError`, `UnknownVariablesError` (unless `strict: false`),
   * `InputTypeError`, `PlaceholderValueError`, `UnresolvedPartialError`.
   */
  render(variables: Readonly<Json> = {}, options: PromptRenderOptions = {}): Rendered {
    const { strict = true, ...named } = options;
    if (!isObject(variables)) throw new TypeError("render() takes an object of variables");
    const merged = this.#content.check({ ...variables, ...named }, strict);
    const content = this.#content;
    if (content.kind === "text") return content.user.render(merged, { strict: false });
    if (content.kind === "legacy") {
      const user: ChatMessage = { role: "user", content: content.user.render(merged, { strict: false }) };
      if (!this.systemPrompt) return [user];
      return [{ role: "system", content: content.system.render(merged, { strict: false }) }, user];
    }
    return content.renderMessages(merged);
  }

  /** This prompt with other flags (itself when unchanged). */
  withFlags(flags: { isStale?: boolean; isFallback?: boolean }): Prompt {
    const isStale = flags.isStale ?? false;
    const isFallback = flags.isFallback ?? false;
    if (isStale === this.isStale && isFallback === this.isFallback) return this;
    return new Prompt(this.#fields(), this.#content, { isStale, isFallback }, this.payload as Json | undefined);
  }

  #fields(): Json {
    return {
      slug: this.slug, version: this.version, text: this.text, inputs: this.inputs,
      params: this.params, tools: this.tools, tool_choice: this.toolChoice,
      response_format: this.responseFormat, snippets: this.snippets, model: this.model,
      temperature: this.temperature, max_tokens: this.maxTokens, metadata: this.metadata,
      commit_message: this.commitMessage, author: this.author, created_at: this.createdAt,
      environment: this.environment, deployed_at: this.deployedAt, deployment_id: this.deploymentId,
    };
  }

  /** Build from the server's JSON (`/active` or `/versions/{n}`, or `data.prompt` of an
   * event); throws `InvalidResponseError` when the body is not a prompt. */
  static fromPayload(payload: unknown): Prompt {
    try {
      if (!isObject(payload)) throw new ContentProblem(`expected a JSON object, got ${typeof payload}`);
      if (!Number.isInteger(payload["version"])) throw new ContentProblem("'version' is not an integer");
      if (typeof payload["slug"] !== "string") throw new ContentProblem("'slug' is not a string");
      const metadata = payload["metadata"];
      if (metadata !== null && metadata !== undefined && !isObject(metadata)) {
        throw new ContentProblem("'metadata' is not an object");
      }
      const messages = payload["messages"];
      const text = payload["text"];
      const older = payload["type"] === undefined || payload["type"] === null || payload["type"] === "chat";
      let content: Content;
      if ((messages === null || messages === undefined) && (text === null || text === undefined) && older) {
        if (typeof payload["user_template"] !== "string") throw new ContentProblem("missing field 'user_template'");
        content = compileContent({
          user_template: payload["user_template"],
          system_prompt: payload["system_prompt"] ?? "",
          inputs: payload["inputs"],
        });
      } else {
        content = compileContent({
          type: text === null || text === undefined ? (payload["type"] ?? "chat") : "text",
          messages: messages ?? [],
          text,
          inputs: payload["inputs"],
        });
      }
      return new Prompt(payload, content, { isStale: false, isFallback: false }, payload);
    } catch (err) {
      if (!(err instanceof ContentProblem)) throw err;
      throw new InvalidResponseError(`the server's answer is not a prompt: ${err.message}`, 200);
    }
  }

  /** A fallback Prompt (flagged `isFallback`): from a user-template string, an object of
   * payload fields (`messages`, or `text`, or `system_prompt` + `user_template`; `inputs`,
   * `model`, ...), or a Prompt. Content that is not a prompt's is a `ConfigurationError`. */
  static fromFallback(slug: string, version: number | undefined, fallback: Fallback): Prompt {
    if (fallback instanceof Prompt) return fallback.withFlags({ isFallback: true });
    let fields: Json;
    if (typeof fallback === "string") fields = { user_template: fallback };
    else if (isObject(fallback)) {
      const unknown = Object.keys(fallback).filter((k) => !FALLBACK_FIELDS.has(k)).sort();
      if (unknown.length) {
        throw new ConfigurationError(
          `fallback for '${slug}' has unknown field(s): ${unknown.join(", ")}` +
            ` (allowed: ${[...FALLBACK_FIELDS].sort().join(", ")})`,
        );
      }
      fields = { ...fallback };
    } else {
      throw new ConfigurationError(
        `fallback for '${slug}' must be a string (the user template), an object of prompt fields or a Prompt`,
      );
    }
    fields = { ...fields, slug, version: version ?? null };
    try {
      const text = fields["text"];
      const content = compileContent({
        type: text === null || text === undefined ? fields["type"] : "text",
        messages: fields["messages"],
        text,
        system_prompt: fields["system_prompt"],
        user_template: fields["user_template"],
        inputs: fields["inputs"],
      });
      return new Prompt(fields, content, { isStale: false, isFallback: true });
    } catch (err) {
      if (err instanceof ContentProblem) throw new ConfigurationError(`fallback for '${slug}': ${err.message}`);
      if (err instanceof PromptOpsError) throw err;
      throw err;
    }
  }
}
