/** Every case of contract/fixtures/chat_render/ and contract/fixtures/active/ against
 * `Prompt.fromPayload(...).render(...)`. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ConfigurationError,
  InputTypeError,
  InvalidResponseError,
  MissingVariablesError,
  PlaceholderValueError,
  TemplateError,
  UnknownVariablesError,
  UnresolvedPartialError,
} from "../src/errors.js";
import { Prompt } from "../src/prompt.js";
import { fixtureFiles } from "./support.js";

interface RenderCase {
  name: string;
  prompt?: Record<string, unknown>;
  variables: Record<string, unknown>;
  strict?: boolean;
  expected?: unknown;
  error?: { kind: string; names?: string[]; name?: string; expected?: string; got?: string; index?: number; key?: string };
}

const KINDS: Record<string, new (...args: any[]) => TemplateError> = {
  missing: MissingVariablesError,
  unknown: UnknownVariablesError,
  type: InputTypeError,
  placeholder: PlaceholderValueError,
  partial: UnresolvedPartialError,
};

export function assertRenders(prompt: Prompt, c: RenderCase): void {
  const strict = c.strict ?? true;
  for (let round = 0; round < 2; round++) {
    const error = c.error;
    if (error === undefined) {
      assert.deepEqual(prompt.render(c.variables, { strict }), c.expected);
      continue;
    }
    let caught: unknown;
    try {
      prompt.render(c.variables, { strict });
    } catch (err) {
      caught = err;
    }
    const kind = KINDS[error.kind];
    assert.ok(kind !== undefined && caught instanceof kind, `expected ${error.kind}, got ${String(caught)}`);
    if (caught instanceof MissingVariablesError || caught instanceof UnknownVariablesError) {
      assert.deepEqual(caught.names, error.names);
    } else if (caught instanceof InputTypeError) {
      assert.deepEqual([caught.variable, caught.expected, caught.got], [error.name, error.expected, error.got]);
      for (const part of [caught.variable, caught.expected, caught.got]) assert.ok(caught.message.includes(part));
    } else if (caught instanceof PlaceholderValueError) {
      assert.deepEqual([caught.placeholder, caught.index], [error.name, error.index]);
      assert.ok(caught.message.includes(caught.placeholder));
    } else if (caught instanceof UnresolvedPartialError) {
      assert.equal(caught.key, error.key);
    }
  }
}

describe("chat_render fixtures", () => {
  const files = fixtureFiles<{ cases: RenderCase[] }>("chat_render");
  it("are all there", () => {
    assert.deepEqual(files.map(([s]) => s), ["inputs", "legacy", "messages", "placeholders", "text"]);
    assert.ok(files.reduce((n, [, d]) => n + d.cases.length, 0) > 60);
  });
  for (const [stem, doc] of files) {
    for (const c of doc.cases) {
      it(`${stem}: ${c.name}`, () => {
        assertRenders(Prompt.fromPayload({ slug: "fixture", version: 1, ...c.prompt }), c);
      });
    }
  }
});

describe("active fixtures", () => {
  const files = fixtureFiles<{ current: boolean; payload: Record<string, any>; renders: RenderCase[] }>("active");
  it("are all there", () => {
    assert.deepEqual(files.map(([s]) => s), ["chat", "older_server", "older_shape", "text"]);
  });
  for (const [stem, doc] of files) {
    it(`${stem}: fromPayload carries every field`, () => {
      const p = doc.payload;
      const prompt = Prompt.fromPayload(p);
      assert.deepEqual([prompt.slug, prompt.version, prompt.environment], [p.slug, p.version, p.environment]);
      assert.equal(prompt.type, p.type ?? "chat");
      assert.deepEqual(prompt.variables, p.variables);
      assert.deepEqual(prompt.inputs, p.inputs ?? []);
      assert.deepEqual(prompt.params, p.params ?? {});
      assert.deepEqual(prompt.tools, p.tools ?? null);
      assert.equal(prompt.toolChoice, p.tool_choice ?? null);
      assert.deepEqual(prompt.responseFormat, p.response_format ?? null);
      assert.deepEqual(prompt.snippets, p.snippets ?? []);
      assert.deepEqual([prompt.model, prompt.temperature, prompt.maxTokens], [p.model, p.temperature, p.max_tokens]);
      assert.deepEqual(prompt.metadata, p.metadata);
      assert.deepEqual(
        [prompt.commitMessage, prompt.author, prompt.createdAt, prompt.deployedAt, prompt.deploymentId],
        [p.commit_message, p.author, p.created_at, p.deployed_at, p.deployment_id],
      );
      if (p.type === "text") assert.equal(prompt.text, p.text);
      else if (p.messages) assert.deepEqual(prompt.messages, p.messages);
      if (p.system_prompt !== null && p.system_prompt !== undefined) {
        assert.deepEqual([prompt.systemPrompt, prompt.userTemplate], [p.system_prompt, p.user_template]);
      }
      assert.equal(prompt.isStale || prompt.isFallback, false);
    });
    for (const c of doc.renders) {
      it(`${stem}: ${c.name}`, () => assertRenders(Prompt.fromPayload(doc.payload), c));
    }
  }
});

describe("Prompt", () => {
  const chat = Prompt.fromPayload({
    slug: "s",
    version: 1,
    messages: [
      { role: "system", content: "Be {{tone}}." },
      { type: "placeholder", name: "history" },
      { role: "user", content: "{{question}}" },
    ],
  });

  it("takes placeholder values as options ({ history })", () => {
    const history = [{ role: "user", content: "Hi {{not}}" }];
    assert.deepEqual(chat.render({ tone: "kind", question: "Q" }, { history }), [
      { role: "system", content: "Be kind." },
      { role: "user", content: "Hi {{not}}" },
      { role: "user", content: "Q" },
    ]);
  });

  it("returns a string for a text prompt", () => {
    const text = Prompt.fromPayload({ slug: "t", version: 2, type: "text", text: "Sum up {{doc}}" });
    assert.equal(text.render({ doc: "this" }), "Sum up this");
  });

  it("refuses a payload that is not a prompt, naming the field", () => {
    assert.throws(() => Prompt.fromPayload({ slug: "s" }), (e: unknown) => e instanceof InvalidResponseError && /version/.test(e.message));
    assert.throws(
      () => Prompt.fromPayload({ slug: "s", version: 1, messages: [{ role: "user", content: "{{#a}}" }] }),
      (e: unknown) => e instanceof InvalidResponseError && /messages\.0\.content/.test(e.message),
    );
  });

  it("builds fallbacks from a string or fields, refusing unknown fields", () => {
    const fromString = Prompt.fromFallback("s", undefined, "Hello {{name}}");
    assert.equal(fromString.isFallback, true);
    assert.deepEqual(fromString.render({ name: "Ada" }), [{ role: "user", content: "Hello Ada" }]);
    const fromText = Prompt.fromFallback("s", 3, { text: "T {{x}}" });
    assert.deepEqual([fromText.type, fromText.version, fromText.render({ x: 1 })], ["text", 3, "T 1"]);
    assert.throws(() => Prompt.fromFallback("s", undefined, { usr_template: "x" }), ConfigurationError);
    assert.throws(() => Prompt.fromFallback("s", undefined, "{{#open}}"), ConfigurationError);
  });

  it("is frozen, and withFlags makes a flagged copy", () => {
    assert.ok(Object.isFrozen(chat));
    const stale = chat.withFlags({ isStale: true });
    assert.deepEqual([stale.isStale, chat.isStale, chat.withFlags({})], [true, false, chat]);
    assert.deepEqual(stale.render({ tone: "a", question: "b" }), chat.render({ tone: "a", question: "b" }));
  });
});
