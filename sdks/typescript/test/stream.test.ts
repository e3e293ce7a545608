/** `subscribe: true` against a scripted far end (an injected `fetch`, so the stream is read
 * as a Web stream, as on edge runtimes): what a push, a drop, a fresh connect and a refusal
 * do to the cache. The same against a real server is in live.test.ts. */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { AuthenticationError, PromptOps, type PromptOpsError } from "../src/index.js";

const prompt = (version: number) => ({
  slug: "greeting",
  version,
  messages: [{ role: "user", content: `Hi {{name}} (${version})` }],
  environment: "dev",
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A far end: each /v1/stream request gets a stream the test writes into; reads of the
 * prompt are answered by `answer` (a promise the test may hold back). */
function farEnd(answer: () => Promise<Response>, streamStatus = 200) {
  const streams: { lastEventId: string | null; send(text: string): void; end(): void }[] = [];
  const reads: string[] = [];
  const encoder = new TextEncoder();
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const headers = new Headers(init?.headers);
    if (!url.endsWith("/v1/stream")) {
      reads.push(url);
      return answer();
    }
    if (streamStatus !== 200) {
      streams.push({ lastEventId: headers.get("last-event-id"), send() {}, end() {} });
      return new Response(JSON.stringify({ error: { code: "unauthorized", message: "the API key was revoked" } }), { status: streamStatus });
    }
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
    init?.signal?.addEventListener("abort", () => controller.error(new Error("aborted")));
    streams.push({
      lastEventId: headers.get("last-event-id"),
      send: (text) => controller.enqueue(encoder.encode(text)),
      end: () => controller.close(),
    });
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  };
  return { fetch: fetch as typeof globalThis.fetch, streams, reads };
}

const ok = (version: number) => Promise.resolve(new Response(JSON.stringify(prompt(version)), { status: 200, headers: { etag: `"v${version}"` } }));
const ready = (id: number) => `retry: 1000\nevent: ready\ndata: {"last_event_id": ${id}}\n\n`;
const moved = (id: number, version: number) =>
  `id: ${id}\nevent: prompt_template_label_moved\ndata: ${JSON.stringify({ type: "prompt_template_label_moved", data: { environment: "dev", version, prompt: prompt(version) } })}\n\n`;

async function until<T>(check: () => T | undefined | false): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = check();
    if (value) return value;
    await pause(5);
  }
  throw new Error("not within 2 s");
}

describe("subscribe: true (scripted far end)", () => {
  it("lets a pushed value win over a fetch in flight", async () => {
    let release!: (r: Response) => void;
    const end = farEnd(() => new Promise<Response>((resolve) => { release = resolve; }));
    const po = new PromptOps({ apiKey: "po_live_x", baseUrl: "http://127.0.0.1:9", fetch: end.fetch, subscribe: true });
    const stream = await until(() => end.streams[0]);
    stream.send(ready(7));
    assert.equal(await po.waitUntilSubscribed(), true);
    const reading = po.getPrompt("greeting"); // its fetch is held back
    await until(() => end.reads.length === 1);
    stream.send(moved(8, 5));
    await pause(20); // the event is read
    release(await ok(3)); // an older answer arrives after the push
    assert.equal((await reading).version, 5);
    assert.equal((await po.getPrompt("greeting")).version, 5);
    assert.equal(end.reads.length, 1);
    await po.close();
  });

  it("reconnects with Last-Event-ID after a drop, and expires what a fresh connect may have missed", async () => {
    const end = farEnd(() => ok(3));
    const po = new PromptOps({ apiKey: "po_live_x", baseUrl: "http://127.0.0.1:9", fetch: end.fetch, subscribe: true, backgroundRefresh: false });
    assert.equal((await po.getPrompt("greeting")).version, 3); // before the stream is up
    const first = await until(() => end.streams[0]);
    assert.equal(first.lastEventId, null);
    first.send(ready(7)); // a fresh connect: the cached entry revalidates on its next read
    await po.waitUntilSubscribed();
    await po.getPrompt("greeting");
    assert.equal(end.reads.length, 2);
    await po.getPrompt("greeting"); // while live, never expires
    assert.equal(end.reads.length, 2);
    first.send(moved(8, 4));
    await pause(20);
    first.end(); // the server went away
    const second = await until(() => end.streams[1]);
    assert.equal(second.lastEventId, "8");
    second.send(ready(8));
    assert.equal(await po.waitUntilSubscribed(), true);
    second.send(moved(9, 6));
    await pause(20);
    assert.equal((await po.getPrompt("greeting")).version, 6);
    assert.equal(end.reads.length, 2);
    await po.close();
    assert.equal(end.streams.length, 2);
  });

  it("writes a pushed value to the snapshot file", async () => {
    const folder = mkdtempSync(join(tmpdir(), "promptops-ts-push-"));
    try {
      const path = join(folder, "prompts.json");
      const end = farEnd(() => ok(3));
      const po = new PromptOps({ apiKey: "po_live_x", baseUrl: "http://127.0.0.1:9", fetch: end.fetch, subscribe: true, snapshotPath: path });
      const stream = await until(() => end.streams[0]);
      stream.send(ready(7) + moved(8, 5));
      await until(() => po.subscribed);
      assert.equal((await po.getPrompt("greeting")).version, 5);
      await po.close(); // the file is written
      const doc = JSON.parse(readFileSync(path, "utf8")) as { prompts: { slug: string; version: null; etag: null; data: { version: number } }[] };
      assert.deepEqual(doc.prompts.map((p) => [p.slug, p.version, p.etag, p.data.version]), [["greeting", null, null, 5]]);
      assert.equal(end.reads.length, 0);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("stops on 401 with an AuthenticationError, without reconnecting", async () => {
    const end = farEnd(() => ok(3), 401);
    const errors: PromptOpsError[] = [];
    const po = new PromptOps({ apiKey: "po_live_x", baseUrl: "http://127.0.0.1:9", fetch: end.fetch, subscribe: true, onError: (e) => errors.push(e) });
    assert.equal(await po.waitUntilSubscribed(1000), false);
    const error = await until(() => po.streamError);
    assert.ok(error instanceof AuthenticationError);
    assert.match(error.message, /revoked/);
    assert.equal(errors.length, 1);
    await po.close();
    assert.equal(end.streams.length, 1);
    assert.equal((await po.getPrompt("greeting")).version, 3); // reads go on, on the TTL
  });
});
