/** run() through the official openai, @anthropic-ai/sdk and @google/genai libraries against
 * the fake providers (tests/fakes, a subprocess), with the log records checked where they
 * land: a real PromptOps server (GET /v1/logs/{id}). Streaming and not, tool calls included,
 * for each provider. */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";

import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";

import { ConfigurationError, PromptOps, RunResult, RunStream, UnsupportedFieldError } from "../src/index.js";
import { startFakeProviders, type FakeProviders } from "./fakes.js";
import { startServer, type RunningServer } from "./server.js";
import { PACKAGE } from "./support.js";

const MODELS = { openai: "gpt-4o-mini", anthropic: "claude-sonnet-4-5", gemini: "gemini-2.5-flash" } as const;
type Name = keyof typeof MODELS;
const WEATHER = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const TOOLS = [{ type: "function", function: { name: "get_weather", parameters: WEATHER } }];
const SYSTEM = "You are kind.";
const USER = "Hello Ada Lovelace";

let server: RunningServer;
let fake: FakeProviders;
let writeKey: string;
let po: PromptOps;
const clients: Record<Name, unknown> = {} as Record<Name, unknown>;

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${writeKey}`, "Content-Type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(`${server.url}${path}`, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function prompt(slug: string, fields: Record<string, unknown>): Promise<void> {
  await api("POST", "/v1/prompts", { slug, name: slug });
  await api("POST", `/v1/prompts/${slug}/versions`, fields);
}

/** The log record with `id` once the server has it (the sender runs in the background). */
async function waitLog(id: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const response = await fetch(`${server.url}/v1/logs/${id}`, { headers: { Authorization: `Bearer ${writeKey}` } });
    if (response.status === 200) return response.json();
    assert.equal(response.status, 404);
    await po.flush(200);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`log ${id} never arrived`);
}

async function lastRequest(provider: Name): Promise<any> {
  const seen = (await fake.requests()).filter((r) => r.provider === provider);
  assert.ok(seen.length, `no request reached the ${provider} fake`);
  return seen[seen.length - 1];
}

before(async () => {
  [server, fake] = await Promise.all([startServer(), startFakeProviders()]);
  writeKey = server.grab("dev write key:");
  for (const name of Object.keys(MODELS) as Name[]) {
    const base = { messages: [{ role: "system", content: "You are {{tone}}." }, { type: "placeholder", name: "history" }, { role: "user", content: "Hello {{name}}" }] };
    await prompt(`chat-${name}`, { ...base, model: MODELS[name], temperature: 0.3, max_tokens: 50 });
    await prompt(`tools-${name}`, { ...base, model: MODELS[name], tools: TOOLS, tool_choice: "get_weather" });
  }
  po = new PromptOps({ apiKey: server.grab("dev read key:"), baseUrl: server.url, logFlushIntervalMs: 20 });
  clients.openai = new OpenAI({ apiKey: "sk-test", baseURL: `${fake.url}/v1`, maxRetries: 0 });
  clients.anthropic = new Anthropic({ apiKey: "sk-ant-test", baseURL: fake.url, maxRetries: 0 });
  clients.gemini = new GoogleGenAI({ apiKey: "gemini-test", httpOptions: { baseUrl: fake.url } });
});

after(async () => {
  await po?.close();
  await Promise.all([server?.stop(true), fake?.stop()]);
});

const VARIABLES = { tone: "kind", name: "Ada Lovelace" };

for (const name of Object.keys(MODELS) as Name[]) {
  describe(`run() with ${name}`, () => {
    it("calls the library with the rendered prompt and logs the exchange", async () => {
      await fake.reset();
      const history = [{ role: "user", content: "Earlier question" }, { role: "assistant", content: "Earlier answer" }];
      const result = await po.run(`chat-${name}`, VARIABLES, { client: clients[name], history, metadata: { user: "u-1" }, tags: ["ts"] });
      assert.ok(result instanceof RunResult);
      assert.equal(result.provider, name);
      assert.equal(result.text, `echo: ${USER}`);
      assert.deepEqual(result.toolCalls, []);
      assert.equal(result.usage.outputTokens, 4);
      assert.ok((result.usage.inputTokens ?? 0) > 6); // the history counts too
      const sent = (await lastRequest(name)).body;
      if (name === "openai") {
        assert.deepEqual(sent.messages, [{ role: "system", content: SYSTEM }, ...history, { role: "user", content: USER }]);
        assert.equal(sent.max_completion_tokens, 50);
        assert.equal(sent.temperature, 0.3);
      } else if (name === "anthropic") {
        assert.equal(sent.system, SYSTEM);
        assert.deepEqual(sent.messages, [...history, { role: "user", content: USER }]);
        assert.equal(sent.max_tokens, 50);
      } else {
        assert.deepEqual(sent.systemInstruction?.parts ?? sent.systemInstruction, [{ text: SYSTEM }]);
        assert.deepEqual(sent.contents.map((c: any) => [c.role, c.parts[0].text]), [["user", "Earlier question"], ["model", "Earlier answer"], ["user", USER]]);
        assert.equal(sent.generationConfig.maxOutputTokens, 50);
      }
      const log = await waitLog(result.logId);
      assert.equal(log.provider, name);
      assert.equal(log.model, MODELS[name]);
      assert.equal(log.prompt_slug, `chat-${name}`);
      assert.equal(log.prompt_version, result.prompt.version);
      assert.equal(log.environment, "dev");
      assert.equal(log.status, "ok");
      assert.equal(log.output_tokens, 4);
      assert.equal(log.input_tokens, result.usage.inputTokens);
      assert.equal(log.cost_usd, result.costUsd);
      assert.ok(log.cost_usd > 0);
      assert.deepEqual(log.metadata, { user: "u-1" });
      assert.deepEqual(log.tags, ["ts"]);
      assert.ok(JSON.stringify(log.response).includes(`echo: ${USER}`));
      assert.equal(log.request.model, MODELS[name]);
      assert.match(log.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it("streams the library's own chunks and logs the merged response", async () => {
      await fake.reset();
      const stream = await po.run(`chat-${name}`, VARIABLES, { client: clients[name], stream: true });
      assert.ok(stream instanceof RunStream);
      let count = 0;
      for await (const chunk of stream) {
        assert.ok(chunk && typeof chunk === "object");
        count += 1;
      }
      assert.ok(count > 1);
      assert.ok(stream.finished);
      assert.equal(stream.text, `echo: ${USER}`);
      assert.equal(stream.usage.outputTokens, 4);
      assert.equal((await lastRequest(name)).stream, true);
      const log = await waitLog(stream.logId);
      assert.equal(log.status, "ok");
      assert.equal(log.output_tokens, 4);
      assert.equal(log.input_tokens, stream.usage.inputTokens);
      assert.ok(JSON.stringify(log.response).includes(`echo: ${USER}`), JSON.stringify(log.response));
      if (name === "openai") assert.equal(log.response.choices[0].message.content, `echo: ${USER}`);
      if (name === "anthropic") assert.equal(log.response.content[0].text, `echo: ${USER}`);
      if (name === "gemini") assert.equal(log.response.candidates[0].content.parts[0].text, `echo: ${USER}`);
    });

    for (const stream of [false, true]) {
      it(`maps tools and tool_choice and reads the tool calls back${stream ? " (streaming)" : ""}`, async () => {
        await fake.reset();
        await fake.setToolCalls(name, [{ name: "get_weather", arguments: { city: "Paris" }, id: "call_1" }]);
        let calls;
        let logId;
        if (stream) {
          const s = await po.run(`tools-${name}`, VARIABLES, { client: clients[name], stream: true });
          assert.throws(() => s.toolCalls, ConfigurationError);
          for await (const _ of s) void _;
          calls = s.toolCalls;
          logId = s.logId;
        } else {
          const r = await po.run(`tools-${name}`, VARIABLES, { client: clients[name] });
          calls = r.toolCalls;
          logId = r.logId;
        }
        assert.deepEqual(calls.map((c) => [c.name, c.arguments]), [["get_weather", { city: "Paris" }]]);
        assert.equal(calls[0]?.id, "call_1");
        const sent = (await lastRequest(name)).body;
        if (name === "openai") {
          assert.deepEqual(sent.tools, TOOLS);
          assert.deepEqual(sent.tool_choice, { type: "function", function: { name: "get_weather" } });
        } else if (name === "anthropic") {
          assert.deepEqual(sent.tools, [{ name: "get_weather", input_schema: WEATHER }]);
          assert.deepEqual(sent.tool_choice, { type: "tool", name: "get_weather" });
        } else {
          assert.deepEqual(sent.tools, [{ functionDeclarations: [{ name: "get_weather", parametersJsonSchema: WEATHER }] }]);
          assert.deepEqual(sent.toolConfig, { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });
        }
        const log = await waitLog(logId);
        assert.ok(JSON.stringify(log.request).includes("get_weather"));
        const response = JSON.stringify(log.response);
        assert.ok(response.includes("get_weather") && response.includes("Paris"), response);
      });
    }

    it("passes the provider's error through unchanged and logs it", async () => {
      await fake.reset();
      await fake.failNext(name, 400, "bad request, on purpose");
      const error = await po.run(`chat-${name}`, VARIABLES, { client: clients[name] }).then(
        () => assert.fail("no error"),
        (err: unknown) => err,
      );
      assert.ok(error instanceof Error && !(error instanceof ConfigurationError));
      assert.match(error.message, /bad request, on purpose/);
      const page = await (await fetch(`${server.url}/v1/logs?limit=50`, { headers: { Authorization: `Bearer ${writeKey}` } })).json();
      await po.flush(5000);
      const again = await (await fetch(`${server.url}/v1/logs?limit=50`, { headers: { Authorization: `Bearer ${writeKey}` } })).json();
      const found = [...again.data, ...page.data].find((r: any) => r.status === "error" && r.provider === name && r.prompt_slug === `chat-${name}`);
      assert.ok(found, "an error record arrived");
      assert.match(found.error, /bad request, on purpose/);
      assert.ok(JSON.stringify(found.response).includes("bad request, on purpose"));
    });
  });
}

describe("a process that never flushes", () => {
  it("exits by itself (no timer keeps it alive) and sends its log on the way out", async () => {
    const dir = join(PACKAGE, "build-test", "exit-flush");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "script.mjs");
    writeFileSync(file, `
      import OpenAI from "openai";
      import { PromptOps } from "promptops";
      const po = new PromptOps({ logFlushIntervalMs: 60000 }); // no timer fires before exit
      const openai = new OpenAI({ baseURL: process.env.FAKE_URL + "/v1", apiKey: "sk-test", maxRetries: 0 });
      const result = await po.run("chat-openai", { tone: "kind", name: "Ada" }, { client: openai });
      console.log(result.logId);
    `);
    const env = { ...process.env, PROMPTOPS_API_KEY: server.grab("dev read key:"), PROMPTOPS_BASE_URL: server.url, FAKE_URL: fake.url };
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [file], { env, cwd: dir, timeout: 20_000 });
    assert.equal(stderr, "");
    // Stored before the process ended (the exit hook sent it): one read, no waiting.
    const response = await fetch(`${server.url}/v1/logs/${stdout.trim()}`, { headers: { Authorization: `Bearer ${writeKey}` } });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).prompt_slug, "chat-openai");
  });
});

describe("run() before any call", () => {
  it("refuses what the provider cannot express, before calling it", async () => {
    await fake.reset();
    await assert.rejects(
      po.run("chat-anthropic", VARIABLES, { client: clients.anthropic, seed: 7 }),
      (err: unknown) => err instanceof UnsupportedFieldError && err.field === "params.seed",
    );
    await assert.rejects(po.run("chat-openai", VARIABLES, { client: {} }), ConfigurationError);
    assert.equal((await fake.requests()).length, 0);
  });

  it("counts what a full queue drops, and never waits for the log server", async () => {
    const down = new PromptOps({ apiKey: "po_test", baseUrl: "http://127.0.0.1:9", logQueueSize: 2, timeoutMs: 200 });
    const fallback = { user_template: "Hello {{name}}", model: "gpt-4o-mini" };
    // The first record goes in flight at once (and waits out the backoff); two more fill the
    // queue; the fourth pushes the oldest queued one out.
    for (let i = 0; i < 4; i++) {
      const result = await down.run("offline", { name: "Ada" }, { client: clients.openai, fallback });
      assert.equal(result.prompt.isFallback, true);
    }
    assert.equal(down.logStats.overflowed, 1);
    assert.equal(await down.flush(50), false);
    await down.close(50);
    assert.equal(down.droppedLogs, 4);
  });
});
