/** Runs every `mjs` block of README.md and docs/sdk-typescript.md (run(), receivers, the
 * shared cache) as a Node script, in a folder inside the package (so `import "promptops"` is
 * this build), against a real server, the fake providers (tests/fakes) and the Redis server,
 * the provider libraries pointed at the fakes by their own environment variables. A block
 * that exports `POST` (a route handler) or `app` (Express) is imported by a wrapper that sends
 * it a signed webhook and checks the answer. A block passes when it exits 0 with nothing on
 * stderr (a failed `console.assert` prints there). */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import { createClient } from "redis";

import { RedisCache } from "../src/index.js";
import { startFakeProviders, type FakeProviders } from "./fakes.js";
import { startServer, type RunningServer } from "./server.js";
import { PACKAGE, REPO } from "./support.js";

const run = promisify(execFile);
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PREFIX = `promptops-docs-test:${process.pid}:${Date.now()}:`;
const SOURCES: [string, string][] = [
  ["README.md", join(PACKAGE, "README.md")],
  ["sdk-typescript.md", join(REPO, "docs", "sdk-typescript.md")],
];
const BLOCKS = SOURCES.flatMap(([name, path]) => {
  const text = readFileSync(path, "utf8");
  return [...text.matchAll(/```mjs\n([\s\S]*?)```/g)].map((m) => ({
    name, code: m[1] as string, line: text.slice(0, m.index).split("\n").length,
  }));
});

const WRAPPER = `
import { signWebhook } from "promptops";
const fail = (message) => { console.error(message); process.exit(1); };
const mod = await import("./block.mjs");
const slug = "docs-hook-" + Math.random().toString(16).slice(2);
const prompt = { slug, version: 3, type: "chat", messages: [{ role: "user", content: "Hi {{name}}" }],
  environment: "dev", deployed_at: "2026-12-02T06:00:00Z", deployment_id: 30 };
const body = JSON.stringify({ id: "evt_docs", type: "prompt_template_label_moved", project: { id: "p1" }, data: { prompt } });
const ts = Math.floor(Date.now() / 1000);
const headers = { "webhook-id": "evt_docs", "webhook-timestamp": String(ts), "webhook-signature": await signWebhook(process.env.PROMPTOPS_WEBHOOK_SECRET, "evt_docs", ts, body) };
let answer;
if (mod.POST) {
  answer = await mod.POST(new Request("http://app.test/api/promptops", { method: "POST", body, headers }));
} else if (mod.app) {
  const server = await new Promise((resolve) => { const s = mod.app.listen(0, "127.0.0.1", () => resolve(s)); });
  answer = await fetch("http://127.0.0.1:" + server.address().port + "/webhooks/promptops", { method: "POST", body, headers });
  server.close();
} else fail("the block exports neither POST nor app");
const reply = await answer.json();
if (answer.status !== 200 || reply.cache !== "updated") fail("answered " + answer.status + " " + JSON.stringify(reply));
if (mod.cache && (await mod.cache.get(slug, { environment: "dev" }))?.version !== 3) fail("not in the cache");
process.exit(0);
`;

describe("run(), receivers and shared-cache examples (README.md, docs/sdk-typescript.md)", () => {
  let server: RunningServer;
  let fake: FakeProviders;
  let env: Record<string, string>;
  before(async () => {
    [server, fake] = await Promise.all([startServer(), startFakeProviders()]);
    env = {
      ...(process.env as Record<string, string>),
      PROMPTOPS_API_KEY: server.grab("dev read key:"),
      PROMPTOPS_BASE_URL: server.url,
      PROMPTOPS_WEBHOOK_SECRET: SECRET,
      REDIS_URL: "redis://127.0.0.1:6379/0",
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: `${fake.url}/v1`,
      ANTHROPIC_API_KEY: "sk-ant-test",
      ANTHROPIC_BASE_URL: fake.url,
      GEMINI_API_KEY: "gemini-test",
      GOOGLE_GEMINI_BASE_URL: fake.url,
    };
    delete env["GOOGLE_API_KEY"];
  });
  after(async () => {
    const redis = await createClient({ url: "redis://127.0.0.1:6379/0" }).connect();
    await new RedisCache(redis, { prefix: PREFIX }).clear();
    await redis.quit();
    await Promise.all([server?.stop(true), fake?.stop()]);
  });

  it("has examples", () => assert.ok(BLOCKS.length >= 6));

  for (const block of BLOCKS) {
    it(`runs ${block.name} line ${block.line}`, async () => {
      const dir = join(PACKAGE, "build-test", "run-docs", `${block.name}-${block.line}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "block.mjs"), block.code.replace(/(["`])promptops:/g, `$1${PREFIX}`));
      const exports = /^export /m.test(block.code);
      if (exports) writeFileSync(join(dir, "wrapper.mjs"), WRAPPER);
      const file = join(dir, exports ? "wrapper.mjs" : "block.mjs");
      const { stderr } = await run(process.execPath, [file], { env, cwd: dir, timeout: 30_000 });
      assert.equal(stderr, "");
    });
  }
});
