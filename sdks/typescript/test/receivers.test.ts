/** Webhook receivers and the shared cache: the Web-standard and node:http handlers (signed
 * independently with the npm `standardwebhooks` package), MemoryCache, and RedisCache on the
 * Redis server at 127.0.0.1:6379 shared with the Python SDK both ways: a Python receiver
 * writes and a TypeScript client reads; a TypeScript receiver writes and Python reads. */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import { createClient } from "redis";
import { Webhook } from "standardwebhooks";

import { MemoryCache, PromptOps, RedisCache, WebhookReceiver, signWebhook } from "../src/index.js";
import { startServer, type RunningServer } from "./server.js";
import { REPO } from "./support.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PREFIX = `promptops-ts-test:${process.pid}:${Date.now()}:`;
const execute = promisify(execFile);

/** Run Python code with this checkout's SDK; stdin: `input` (a string as is, else as JSON); its stdout parsed as JSON. */
async function python(code: string, input: unknown): Promise<any> {
  const child = execute(process.env["PROMPTOPS_PYTHON"] ?? "python3", ["-c", code], {
    env: { ...process.env, PYTHONPATH: join(REPO, "src") },
    timeout: 30_000,
  });
  child.child.stdin?.end(typeof input === "string" ? input : JSON.stringify(input));
  const { stdout } = await child;
  return JSON.parse(stdout);
}

function prompt(version: number, deploymentId: number, text = "Hello {{name}} — ü"): Record<string, any> {
  return {
    slug: "greeting", version, type: "chat", messages: [{ role: "user", content: text }],
    model: "gpt-4o-mini", temperature: 0.3, params: {}, metadata: { team: "growth" }, inputs: [],
    environment: "dev", deployed_at: "2026-12-02T06:00:00Z", deployment_id: deploymentId,
  };
}

/** A webhook request signed by the standardwebhooks package (not our own signer). */
function signed(event: unknown, secret = SECRET): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(event);
  const id = `evt_${Math.random().toString(16).slice(2)}`;
  const now = new Date();
  const signature = new Webhook(secret).sign(id, now, body);
  return { body, headers: { "webhook-id": id, "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": signature, "content-type": "application/json" } };
}

const event = (p: unknown, type = "prompt_template_label_moved") => ({
  id: "evt_1", type, timestamp: "2026-12-02T06:00:00Z", project: { id: "p1", name: "Demo" }, data: { prompt: p },
});

describe("the Web-standard handler (Next.js, Hono, Workers)", () => {
  const cache = new MemoryCache();
  const handler = new WebhookReceiver({ secret: SECRET, cache }).fetchHandler();
  const post = (body: string, headers: Record<string, string>) =>
    handler(new Request("http://app.test/api/promptops", { method: "POST", body, headers }));

  it("verifies, stores by environment and version, keeps the newer deployment", async () => {
    const first = signed(event(prompt(2, 20)));
    const answer = await post(first.body, first.headers);
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { ok: true, id: "evt_1", cache: "updated" });
    assert.equal((await cache.get("greeting", { environment: "dev" }))?.["version"], 2);
    const pinned = await cache.get("greeting", { version: 2 });
    assert.deepEqual([pinned?.["environment"], pinned?.["deployment_id"]], [null, null]);
    const late = signed(event(prompt(1, 10)));
    assert.equal((await (await post(late.body, late.headers)).json()).cache, "stale");
    assert.equal((await cache.get("greeting", { environment: "dev" }))?.["version"], 2);
    const other = signed({ id: "evt_2", type: "webhook_test", data: {} });
    assert.equal((await (await post(other.body, other.headers)).json()).cache, "ignored");
  });

  it("refuses a bad signature, another secret, another method, a large body", async () => {
    const good = signed(event(prompt(3, 30)));
    assert.equal((await post(`${good.body} `, good.headers)).status, 400);
    const foreign = signed(event(prompt(3, 30)), "whsec_" + btoa("another secret of 32 bytes......"));
    const refused = await post(foreign.body, foreign.headers);
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error, /signature/);
    assert.equal((await handler(new Request("http://app.test/x"))).status, 405);
    const small = new WebhookReceiver({ secret: SECRET, maxBodyBytes: 10 }).fetchHandler();
    assert.equal((await small(new Request("http://x/", { method: "POST", body: good.body, headers: good.headers }))).status, 413);
    assert.equal((await cache.get("greeting", { environment: "dev" }))?.["version"], 2, "nothing refused was stored");
    assert.throws(() => new WebhookReceiver({ secret: "not-a-secret" }));
  });
});

describe("Redis shared with the Python SDK", () => {
  let redis: ReturnType<typeof createClient>;
  let server: RunningServer;
  let http: Server;
  let hookUrl: string;
  let tsCache: RedisCache;

  before(async () => {
    redis = createClient({ url: "redis://127.0.0.1:6379/0" });
    await redis.connect();
    tsCache = new RedisCache(redis, { prefix: PREFIX });
    server = await startServer();
    const receiver = new WebhookReceiver({ secret: SECRET, cache: tsCache });
    http = createServer(receiver.nodeHandler());
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const address = http.address();
    hookUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/webhooks/promptops`;
  });

  after(async () => {
    await tsCache?.clear();
    await redis?.quit();
    await new Promise((resolve) => http?.close(resolve));
    await server?.stop(true);
  });

  it("stores the very bytes Python stores, under the same keys", async () => {
    const p = prompt(7, 70, "Grüße {{name}} ✓ 😀");
    await new RedisCache(redis, { prefix: `${PREFIX}ts:` }).set(p);
    await python(
      `import json, sys
from promptops.receivers import RedisCache
RedisCache("redis://127.0.0.1:6379/0", prefix=${JSON.stringify(`${PREFIX}py:`)}).set(json.load(sys.stdin))
print("{}")`,
      p,
    );
    for (const [key, field] of [["env:greeting:dev", "payload"], ["env:greeting:dev", "deployment_id"]] as const) {
      const ts = await redis.hGet(`${PREFIX}ts:${key}`, field);
      assert.ok(ts);
      assert.equal(ts, await redis.hGet(`${PREFIX}py:${key}`, field));
    }
    const version = await redis.get(`${PREFIX}ts:ver:greeting:7`);
    assert.ok(version);
    assert.equal(version, await redis.get(`${PREFIX}py:ver:greeting:7`));
  });

  it("a Python receiver writes, a TypeScript client reads", async () => {
    const key = server.grab("dev read key:");
    const headers = { Authorization: `Bearer ${key}` };
    const active = await (await fetch(`${server.url}/v1/prompts/onboarding-email/active`, { headers })).json();
    let requests = 0;
    const clock = { now: 0 };
    const po = new PromptOps({
      apiKey: key, baseUrl: server.url, cacheTtlMs: 1000, clock: () => clock.now, backgroundRefresh: false,
      cache: new RedisCache(redis, { prefix: `${PREFIX}a:` }),
      fetch: async (input, init) => {
        requests += 1;
        return fetch(input, init);
      },
    });
    assert.equal((await po.getPrompt("onboarding-email")).version, active.version); // learns "dev"
    assert.equal(requests, 1);
    // A newer deployment arrives by webhook at a Python receiver writing the same Redis.
    const newer = { ...active, version: active.version + 5, deployment_id: active.deployment_id + 5, commit_message: "from python" };
    const body = JSON.stringify(event(newer));
    const reply = await python(
      `import json, sys
from promptops.receivers import RedisCache, WebhookReceiver
from promptops.webhooks import sign_headers
body = sys.stdin.read()
receiver = WebhookReceiver(${JSON.stringify(SECRET)}, RedisCache("redis://127.0.0.1:6379/0", prefix=${JSON.stringify(`${PREFIX}a:`)}))
reply = receiver.handle(body.encode(), sign_headers(${JSON.stringify(SECRET)}, body, msg_id="evt_py"))
print(json.dumps({"status": reply.status, "body": json.loads(reply.body)}))`,
      body,
    );
    assert.deepEqual(reply, { status: 200, body: { ok: true, id: "evt_1", cache: "updated" } });
    clock.now += 1001; // the local entry expired: the shared cache answers, not the server
    const served = await po.getPrompt("onboarding-email");
    assert.equal(served.version, newer.version);
    assert.equal(served.commitMessage, "from python");
    assert.equal(requests, 1);
    const pinned = await po.getPrompt("onboarding-email", { version: newer.version });
    assert.equal(pinned.environment, null);
    assert.equal(requests, 1);
  });

  it("a TypeScript receiver (node:http) writes, Python reads", async () => {
    const p = prompt(12, 120, "Bonjour {{name}} — é");
    const { body, headers } = signed(event(p));
    const answer = await fetch(hookUrl, { method: "POST", body, headers });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { ok: true, id: "evt_1", cache: "updated" });
    const tampered = await fetch(hookUrl, { method: "POST", body: body.replace("Bonjour", "Bonsoir"), headers });
    assert.equal(tampered.status, 400);
    assert.equal((await fetch(hookUrl)).status, 405);
    const read = await python(
      `import json
from promptops.receivers import RedisCache
from promptops.sdk.prompt import Prompt
cache = RedisCache("redis://127.0.0.1:6379/0", prefix=${JSON.stringify(PREFIX)})
active = cache.get("greeting", environment="dev")
pinned = cache.get("greeting", version=12)
print(json.dumps({"active": active, "pinned": pinned, "rendered": Prompt.from_payload(active).render({"name": "Ada"})}))`,
      null,
    );
    assert.deepEqual(read.active, p);
    assert.deepEqual([read.pinned.version, read.pinned.environment, read.pinned.deployment_id], [12, null, null]);
    assert.deepEqual(read.rendered, [{ role: "user", content: "Bonjour Ada — é" }]);
  });

  it("our signatures verify with the standardwebhooks package", async () => {
    const body = JSON.stringify(event(prompt(1, 1)));
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signWebhook(SECRET, "evt_x", timestamp, body);
    const verified = new Webhook(SECRET).verify(body, { "webhook-id": "evt_x", "webhook-timestamp": String(timestamp), "webhook-signature": signature });
    assert.equal((verified as any).id, "evt_1");
  });
});
