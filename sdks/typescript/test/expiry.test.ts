/** Expiry with the default clock on Node: entries are timed (an unref()ed timer replaces
 * each one when its TTL is over), so a hit reads no clock; the TTL still holds. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { PromptOps } from "../src/index.js";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("TTL expiry by timers (default clock)", () => {
  it("serves from memory within the TTL and revalidates after it", async () => {
    const requests: (string | null)[] = [];
    const fetch = (async (_input: string | URL | Request, init?: RequestInit) => {
      requests.push(new Headers(init?.headers).get("if-none-match"));
      const body = { slug: "greeting", version: requests.length, messages: [{ role: "user", content: "Hi" }], environment: "dev" };
      return new Response(JSON.stringify(body), { status: 200, headers: { etag: `"v${requests.length}"` } });
    }) as typeof globalThis.fetch;
    const po = new PromptOps({ apiKey: "po_live_x", baseUrl: "http://127.0.0.1:9", fetch, cacheTtlMs: 40, backgroundRefresh: false });
    assert.equal((await po.getPrompt("greeting")).version, 1);
    assert.equal((await po.getPrompt("greeting")).version, 1);
    assert.equal(requests.length, 1);
    await pause(80); // the entry's timer fires
    assert.equal((await po.getPrompt("greeting")).version, 2);
    assert.deepEqual(requests, [null, '"v1"']);
    po.invalidate();
    assert.equal((await po.getPrompt("greeting", { version: 7 })).version, 3); // pinned: never expires
    await pause(80);
    assert.equal((await po.getPrompt("greeting", { version: 7 })).version, 3);
    assert.equal(requests.length, 3);
  });
});
