/** The client against a real PromptOps server process (see server.ts). */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { PromptNotFoundError, PromptOps, type Prompt } from "../src/index.js";
import { startServer, type RunningServer } from "./server.js";

const SLUG = "onboarding-email"; // the demo project's prompt, deployed in dev

describe("against a real server", () => {
  let server: RunningServer;
  const seen: { url: string; status: number; ifNoneMatch: string | null }[] = [];
  const clock = { now: 0 };
  let po: PromptOps;
  let first: Prompt;

  // The real fetch, recording what went over the wire.
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const ifNoneMatch = new Headers(init?.headers).get("if-none-match");
    seen.push({ url: String(input), status: response.status, ifNoneMatch });
    return response;
  };

  before(async () => {
    server = await startServer();
    po = new PromptOps({
      apiKey: server.grab("dev read key:"),
      baseUrl: server.url,
      cacheTtlMs: 1000,
      fetch: recording,
      clock: () => clock.now,
      backgroundRefresh: false,
    });
  });
  after(async () => server.stop(true));

  it("gets and renders the active prompt with one request", async () => {
    first = await po.getPrompt(SLUG);
    assert.equal(first.slug, SLUG);
    assert.equal(first.environment, "dev");
    assert.ok(Number.isInteger(first.version));
    const values = Object.fromEntries(first.variables.map((name) => [name, `<${name}>`]));
    const rendered = first.render(values);
    assert.ok(Array.isArray(rendered) && rendered.length > 0);
    assert.ok(JSON.stringify(rendered).includes(`<${first.variables[0]}>`));
    assert.equal((await po.getPrompt(SLUG)).version, first.version);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.status, 200);
  });

  it("revalidates after the TTL: If-None-Match, a 304, the entry kept", async () => {
    clock.now += 1001;
    const again = await po.getPrompt(SLUG);
    const last = seen[seen.length - 1];
    assert.ok(last?.ifNoneMatch, "an ETag was sent back");
    assert.equal(last?.status, 304);
    assert.equal(again, first);
  });

  it("reads a pinned version", async () => {
    const pinned = await po.getPrompt(SLUG, { version: first.version as number });
    assert.equal(pinned.version, first.version);
    assert.match(seen[seen.length - 1]?.url ?? "", /\/versions\/\d+$/);
  });

  it("answers an unknown slug with PromptNotFoundError", async () => {
    await assert.rejects(po.getPrompt("no-such-prompt"), (err: unknown) => {
      assert.ok(err instanceof PromptNotFoundError);
      assert.equal(err.status, 404);
      assert.match(err.message, /no-such-prompt/);
      return true;
    });
  });

  it("serves the last good value, flagged isStale, once the server is killed", async () => {
    await server.stop(true);
    clock.now += 1001;
    const stale = await po.getPrompt(SLUG);
    assert.deepEqual([stale.version, stale.isStale], [first.version, true]);
    const fallback = await po.getPrompt("never-fetched", { fallback: "Hello {{name}}" });
    assert.equal(fallback.isFallback, true);
  });
});
