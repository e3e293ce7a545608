/** The client's cache decisions, against a scripted far end (an injected `fetch`, as the
 * Python tests use httpx.MockTransport) and a clock the test moves. The same behaviour
 * against a real server process is in server.test.ts. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  AuthenticationError,
  ConfigurationError,
  PromptNotFoundError,
  PromptOps,
  PromptUnavailableError,
  type PromptOpsOptions,
} from "../src/index.js";

const PAYLOAD = { slug: "greeting", version: 3, messages: [{ role: "user", content: "Hi {{name}}" }], environment: "dev" };

type Reply = { status: number; body?: unknown; etag?: string } | "down" | Promise<never>;

/** A far end answering from a script, recording each request. */
function farEnd(...replies: Reply[]) {
  const requests: { url: string; ifNoneMatch: string | null; auth: string | null }[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    requests.push({ url: String(input), ifNoneMatch: headers.get("if-none-match"), auth: headers.get("authorization") });
    const reply = replies.length > 1 ? replies.shift() : replies[0];
    if (reply === undefined) throw new Error("no reply scripted");
    if (reply === "down") throw new TypeError("fetch failed (connection refused)");
    if (reply instanceof Promise) return reply;
    const body = reply.body === undefined ? null : JSON.stringify(reply.body);
    return new Response(reply.status === 304 ? null : body, {
      status: reply.status,
      headers: { "content-type": "application/json", ...(reply.etag ? { etag: reply.etag } : {}) },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}

function client(end: ReturnType<typeof farEnd>, options: PromptOpsOptions = {}) {
  const clock = { now: 0 };
  const po = new PromptOps({
    apiKey: "po_live_test",
    baseUrl: "http://127.0.0.1:9",
    fetch: end.fetch,
    clock: () => clock.now,
    backgroundRefresh: false,
    ...options,
  });
  return { po, clock };
}

const ok = (etag = '"v3"') => ({ status: 200, body: PAYLOAD, etag });

describe("PromptOps client", () => {
  it("makes one request on a miss and none within the TTL", async () => {
    const end = farEnd(ok());
    const { po, clock } = client(end);
    const prompt = await po.getPrompt("greeting");
    assert.deepEqual(prompt.render({ name: "Ada" }), [{ role: "user", content: "Hi Ada" }]);
    clock.now = 59_999;
    assert.equal(await po.getPrompt("greeting"), prompt);
    assert.equal(end.requests.length, 1);
    assert.equal(end.requests[0]?.url, "http://127.0.0.1:9/v1/prompts/greeting/active");
    assert.equal(end.requests[0]?.auth, "Bearer po_live_test");
  });

  it("shares one request between concurrent readers of a key", async () => {
    const end = farEnd(ok());
    const { po } = client(end);
    const all = await Promise.all([po.getPrompt("greeting"), po.getPrompt("greeting"), po.getPrompt("greeting")]);
    assert.equal(end.requests.length, 1);
    assert.ok(all.every((p) => p === all[0]));
  });

  it("revalidates with If-None-Match after the TTL; a 304 keeps the entry", async () => {
    const end = farEnd(ok(), { status: 304 });
    const { po, clock } = client(end, { cacheTtlMs: 1000 });
    const first = await po.getPrompt("greeting");
    clock.now = 1001;
    const again = await po.getPrompt("greeting");
    assert.equal(end.requests[1]?.ifNoneMatch, '"v3"');
    assert.deepEqual([again.version, again.isStale], [3, false]);
    assert.equal(again, first);
    clock.now = 1500; // renewed for another TTL: no request
    await po.getPrompt("greeting");
    assert.equal(end.requests.length, 2);
  });

  it("serves the old value at once and refreshes in the background (one refresh per key)", async () => {
    const newer = { ...PAYLOAD, version: 4 };
    const end = farEnd(ok(), { status: 200, body: newer, etag: '"v4"' });
    const { po, clock } = client(end, { cacheTtlMs: 1000, backgroundRefresh: true });
    await po.getPrompt("greeting");
    clock.now = 2000;
    const [a, b] = await Promise.all([po.getPrompt("greeting"), po.getPrompt("greeting")]);
    assert.deepEqual([a.version, b.version], [3, 3]);
    await po.settle();
    assert.equal((await po.getPrompt("greeting")).version, 4);
    assert.equal(end.requests.length, 2);
  });

  for (const failure of ["down", { status: 503, body: { error: { code: "unavailable", message: "busy" } } }] as const) {
    const what = failure === "down" ? "unreachable" : "answering 503";
    it(`serves the last good value flagged isStale when the server is ${what} after the TTL`, async () => {
      const end = farEnd(ok(), failure);
      const { po, clock } = client(end, { cacheTtlMs: 1000 });
      await po.getPrompt("greeting");
      clock.now = 1001;
      const stale = await po.getPrompt("greeting");
      assert.deepEqual([stale.version, stale.isStale], [3, true]);
      assert.deepEqual(stale.render({ name: "Ada" }), [{ role: "user", content: "Hi Ada" }]);
    });
  }

  it("returns the caller's fallback when nothing is cached, else a clear error", async () => {
    const end = farEnd("down");
    const { po } = client(end);
    const fallback = await po.getPrompt("greeting", { fallback: "Hello {{name}}" });
    assert.deepEqual([fallback.isFallback, fallback.slug], [true, "greeting"]);
    assert.deepEqual(fallback.render({ name: "Ada" }), [{ role: "user", content: "Hello Ada" }]);
    await assert.rejects(po.getPrompt("other"), (err: unknown) => {
      assert.ok(err instanceof PromptUnavailableError);
      assert.match(err.message, /'other'.*connection refused/);
      assert.ok(err.cause instanceof TypeError);
      return true;
    });
  });

  it("leaves a failed server alone for a backoff, serving stale without a request", async () => {
    const end = farEnd(ok(), "down");
    const { po, clock } = client(end, { cacheTtlMs: 1000 });
    await po.getPrompt("greeting");
    clock.now = 1001;
    await po.getPrompt("greeting");
    const before = end.requests.length;
    await assert.rejects(po.getPrompt("never-cached"), PromptUnavailableError);
    // within the backoff (drawn from [0, 1 s] after the first failure; the clock has not
    // moved) nothing is requested
    assert.equal(end.requests.length, before);
  });

  it("evicts on 404 and throws PromptNotFoundError", async () => {
    const end = farEnd(ok(), { status: 404, body: { error: { code: "not_found", message: "prompt 'greeting' not found" } } });
    const { po, clock } = client(end, { cacheTtlMs: 1000 });
    await po.getPrompt("greeting");
    clock.now = 1001;
    await assert.rejects(po.getPrompt("greeting", { fallback: "unused" }), (err: unknown) => {
      assert.ok(err instanceof PromptNotFoundError);
      assert.deepEqual([err.status, err.code, err.slug], [404, "not_found", "greeting"]);
      return true;
    });
    await assert.rejects(po.getPrompt("greeting"), PromptNotFoundError); // not served from memory
    assert.equal(end.requests.length, 3);
  });

  it("does not expire pinned versions", async () => {
    const end = farEnd(ok());
    const { po, clock } = client(end, { cacheTtlMs: 1000 });
    const pinned = await po.getPrompt("greeting", { version: 3 });
    clock.now = 10_000_000;
    assert.equal(await po.getPrompt("greeting", { version: 3 }), pinned);
    assert.equal(end.requests.length, 1);
    assert.equal(end.requests[0]?.url, "http://127.0.0.1:9/v1/prompts/greeting/versions/3");
  });

  it("raises 401 as AuthenticationError", async () => {
    const { po } = client(farEnd({ status: 401, body: { error: { code: "unauthorized", message: "bad key" } } }));
    await assert.rejects(po.getPrompt("greeting"), AuthenticationError);
  });

  it("treats a 200 that is not a prompt as unavailability", async () => {
    const { po } = client(farEnd({ status: 200, body: { nope: true } }));
    await assert.rejects(po.getPrompt("greeting"), /not a prompt/);
  });

  it("reads PROMPTOPS_API_KEY and PROMPTOPS_BASE_URL when not given", async () => {
    const saved = { ...process.env };
    try {
      process.env["PROMPTOPS_API_KEY"] = "po_live_env";
      process.env["PROMPTOPS_BASE_URL"] = "http://127.0.0.1:7/";
      const end = farEnd(ok());
      const po = new PromptOps({ fetch: end.fetch });
      assert.equal(po.baseUrl, "http://127.0.0.1:7");
      await po.getPrompt("greeting");
      assert.equal(end.requests[0]?.auth, "Bearer po_live_env");
      delete process.env["PROMPTOPS_API_KEY"];
      assert.throws(() => new PromptOps({ fetch: end.fetch }), ConfigurationError);
    } finally {
      process.env = saved;
    }
  });

  it("refuses bad options and arguments naming them", async () => {
    const end = farEnd(ok());
    assert.throws(() => new PromptOps({ apiKey: "k", baseUrl: "ftp://x", fetch: end.fetch }), /baseUrl/);
    assert.throws(() => new PromptOps({ apiKey: "k", cacheTtlMs: -1, fetch: end.fetch }), /cacheTtlMs/);
    const { po } = client(end);
    await assert.rejects(po.getPrompt("Not A Slug"), /slug/);
    await assert.rejects(po.getPrompt("greeting", { version: 0 }), /version/);
    assert.equal(end.requests.length, 0);
  });

  it("invalidates one slug exactly", async () => {
    const end = farEnd(ok());
    const { po } = client(end);
    await po.getPrompt("greeting");
    await po.getPrompt("greeting-two");
    assert.equal(po.invalidate("greeting"), 1);
    assert.equal(po.invalidate(), 1);
  });
});

describe("PromptOps client, failures in the background", () => {
  it("leaves no unhandled rejection when a background refresh fails", async () => {
    const unhandled: unknown[] = [];
    const collect = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", collect);
    try {
      const end = farEnd(ok(), "down", { status: 500, body: "boom" });
      const { po, clock } = client(end, { cacheTtlMs: 1000, backgroundRefresh: true });
      await po.getPrompt("greeting");
      clock.now = 5000;
      assert.equal((await po.getPrompt("greeting")).isStale, false); // the old value, at once
      await po.settle();
      assert.equal((await po.getPrompt("greeting")).isStale, true); // the refresh failed
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", collect);
    }
  });
});
