/** `subscribe: true` and `snapshotPath` against a real PromptOps server process (server.ts):
 * a promotion reaches the client over the stream; a killed and restarted server is resumed
 * with Last-Event-ID (seen by a recording proxy in between); a revoked key stops the stream
 * with an error; a cold start with the server down serves the snapshot file (which the
 * Python SDK reads too); a process with a subscribed client exits on its own. */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import { AuthenticationError, PromptOps, SseParser, type Prompt, type PromptOpsError } from "../src/index.js";
import { startServer, type RunningServer } from "./server.js";
import { PACKAGE, REPO } from "./support.js";

const run = promisify(execFile);
const SLUG = "onboarding-email";

async function within<T>(ms: number, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A recording HTTP proxy in front of the server: each /v1/stream connection's
 * Last-Event-ID and the ids of the events it carried. */
class Proxy {
  readonly streams: { lastEventId: string | null; ids: string[] }[] = [];
  readonly requests: string[] = [];
  readonly #server: Server;
  url = "";

  constructor(upstream: string) {
    const target = new URL(upstream);
    this.#server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.requests.push(req.url ?? "");
      const record = req.url === "/v1/stream" ? { lastEventId: (req.headers["last-event-id"] as string | undefined) ?? null, ids: [] as string[] } : undefined;
      if (record) this.streams.push(record);
      const out = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          const parser = new SseParser();
          up.on("data", (chunk: Buffer) => {
            if (record) for (const event of parser.push(chunk.toString("utf8"))) if (event.id !== null && event.event !== "ready") record.ids.push(event.id);
            res.write(chunk);
          });
          up.on("end", () => res.end());
          up.on("error", () => res.destroy());
        },
      );
      out.on("error", () => res.destroy());
      req.pipe(out);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const address = this.#server.address();
    this.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe("subscribe and snapshot against a real server", () => {
  let server: RunningServer;
  let write: string;
  let read: string;
  const folder = mkdtempSync(join(tmpdir(), "promptops-ts-live-"));
  let made = 0;

  /** A new version of SLUG (a dev write key deploys it to dev at once). */
  async function promote(): Promise<number> {
    made++;
    const response = await fetch(`${server.url}/v1/prompts/${SLUG}/versions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${write}`, "Content-Type": "application/json" },
      body: JSON.stringify({ user_template: `Hello {{name}} (${made})`, model: "gpt-4o-mini" }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    return ((await response.json()) as { version: number }).version;
  }

  before(async () => {
    server = await startServer();
    write = server.grab("dev write key:");
    read = server.grab("dev read key:");
  });
  after(async () => {
    await server.stop(true);
    rmSync(folder, { recursive: true, force: true });
  });

  it("pushes a promotion to getPrompt without a request", async () => {
    const errors: PromptOpsError[] = [];
    const po = new PromptOps({ apiKey: read, baseUrl: server.url, subscribe: true, onError: (e) => errors.push(e) });
    assert.equal(await po.waitUntilSubscribed(), true);
    assert.equal(po.subscribed, true);
    const first = await po.getPrompt(SLUG);
    const version = await promote();
    assert.ok(version > (first.version as number));
    const pushed = await within(5000, async () => {
      const prompt = await po.getPrompt(SLUG); // the cache is fresh (TTL 60 s): only a push changes it
      return prompt.version === version && prompt;
    });
    assert.equal(pushed.isStale, false);
    assert.deepEqual(pushed.render({ name: "Ada" }), [{ role: "user", content: `Hello Ada (${made})` }]);
    await po.close();
    assert.equal(po.subscribed, false);
    assert.equal(errors.length, 0);
  });

  it("resumes after a server restart with Last-Event-ID", async () => {
    const proxy = await new Proxy(server.url).start();
    const po = new PromptOps({ apiKey: read, baseUrl: proxy.url, subscribe: true, onError: () => undefined });
    try {
      assert.equal(await po.waitUntilSubscribed(), true);
      await po.getPrompt(SLUG);
      const before = await promote();
      await within(5000, async () => (await po.getPrompt(SLUG)).version === before);
      const seen = proxy.streams[0]?.ids ?? [];
      assert.ok(seen.length >= 1);

      await server.restart();
      const next = await promote();
      await within(10_000, async () => (await po.getPrompt(SLUG)).version === next);
      assert.ok(proxy.streams.length >= 2);
      // Every reconnect carried the last id seen so far, none started afresh.
      const reconnects = proxy.streams.slice(1);
      assert.equal(reconnects[0]?.lastEventId, seen[seen.length - 1]);
      for (const stream of reconnects) assert.ok(stream.lastEventId !== null);
      assert.ok(reconnects.some((stream) => stream.ids.length >= 1), "the new version came over the stream");
    } finally {
      await po.close();
      await proxy.stop();
    }
  });

  it("stops the stream with an error when its key is revoked", async () => {
    const response = await fetch(`${server.url}/v1/keys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${write}`, "Content-Type": "application/json" },
      body: JSON.stringify({ environment: "dev", role: "read" }),
    });
    const { key, prefix } = (await response.json()) as { key: string; prefix: string };
    const errors: PromptOpsError[] = [];
    const po = new PromptOps({ apiKey: key, baseUrl: server.url, subscribe: true, onError: (e) => errors.push(e) });
    assert.equal(await po.waitUntilSubscribed(), true);
    const revoked = await fetch(`${server.url}/v1/keys/${prefix}`, { method: "DELETE", headers: { Authorization: `Bearer ${write}` } });
    assert.equal(revoked.status, 200);
    const error = await within(10_000, () => po.streamError);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.status, 401);
    assert.match(error.message, /will not reconnect/);
    assert.deepEqual(errors, [error]);
    assert.equal(po.subscribed, false);
    assert.equal(await po.waitUntilSubscribed(10), false);
    await po.close(); // the loop has ended: this returns at once
  });

  it("boots from the snapshot file with the server down, in the Python SDK's format", async () => {
    const path = join(folder, "nested", "prompts.json");
    const po = new PromptOps({ apiKey: read, baseUrl: server.url, snapshotPath: path });
    const good = await po.getPrompt(SLUG);
    await po.settle();
    const doc = JSON.parse(readFileSync(path, "utf8")) as { format: number; owner: string; prompts: { slug: string; version: number | null; etag: string | null; data: { version: number } }[] };
    const digest = createHash("sha256").update(read).digest("hex").slice(0, 16);
    assert.equal(doc.format, 1);
    assert.equal(doc.owner, `${server.url}#${digest}`);
    assert.equal(doc.prompts.length, 1);
    assert.equal(doc.prompts[0]?.slug, SLUG);
    assert.equal(doc.prompts[0]?.version, null);
    assert.ok(doc.prompts[0]?.etag);
    assert.equal(doc.prompts[0]?.data.version, good.version);

    // A server-down cold start: nothing listens on the snapshot's server any more.
    const proxy = await new Proxy(server.url).start();
    const deadUrl = proxy.url;
    await proxy.stop();
    const owned = doc.prompts; // the same prompts, claimed for the dead URL
    writeFileSync(path, JSON.stringify({ ...doc, owner: `${deadUrl}#${digest}`, prompts: owned }));
    const errors: PromptOpsError[] = [];
    const cold = new PromptOps({ apiKey: read, baseUrl: deadUrl, snapshotPath: path, onError: (e) => errors.push(e) });
    const stale: Prompt = await cold.getPrompt(SLUG);
    assert.equal(stale.isStale, true);
    assert.equal(stale.version, good.version);
    assert.deepEqual(stale.render({ name: "Ada" }), good.render({ name: "Ada" }));
    assert.equal(errors.length, 0);
    // The Python SDK serves the same file the same way.
    const python = process.env["PROMPTOPS_PYTHON"] ?? "python3";
    const script = [
      "import sys",
      "from promptops import Client",
      "c = Client(api_key=sys.argv[1], base_url=sys.argv[2], snapshot_path=sys.argv[3], timeout=1)",
      `p = c.get_prompt("${SLUG}")`,
      "print(p.version, p.is_stale)",
    ].join("\n");
    const { stdout } = await run(python, ["-c", script, read, deadUrl, path], { env: { ...process.env, PYTHONPATH: join(REPO, "src") } });
    assert.equal(stdout.trim(), `${String(good.version)} True`);
    // And the other way round: a file the Python SDK wrote (through a proxy, stopped after).
    const relay = await new Proxy(server.url).start();
    const fromPython = join(folder, "python.json");
    const writer = [
      "import sys",
      "from promptops import Client",
      "with Client(api_key=sys.argv[1], base_url=sys.argv[2], snapshot_path=sys.argv[3]) as c:",
      `    c.get_prompt("${SLUG}")`,
    ].join("\n");
    await run(python, ["-c", writer, read, relay.url, fromPython], { env: { ...process.env, PYTHONPATH: join(REPO, "src") } });
    await relay.stop();
    const booted = new PromptOps({ apiKey: read, baseUrl: relay.url, snapshotPath: fromPython, onError: (e) => errors.push(e) });
    const served = await booted.getPrompt(SLUG);
    assert.equal(served.isStale, true);
    assert.equal(served.version, good.version);
    assert.equal(errors.length, 0);
    // A file for another key is ignored, never served.
    const other = new PromptOps({ apiKey: `${read}x`, baseUrl: deadUrl, snapshotPath: path, onError: (e) => errors.push(e) });
    assert.equal((await other.getPrompt(SLUG, { fallback: "fallback {{name}}" })).isFallback, true);
    assert.match(errors[0]?.message ?? "", /another server or API key/);
  });

  it("lets a process with a subscribed client exit on its own", async () => {
    const dir = join(PACKAGE, "build-test", "live");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "exits.mjs");
    writeFileSync(
      file,
      [
        'import { PromptOps } from "promptops";',
        `const po = new PromptOps({ subscribe: true, snapshotPath: ${JSON.stringify(join(folder, "exit.json"))} });`,
        "const live = await po.waitUntilSubscribed();",
        `const prompt = await po.getPrompt("${SLUG}");`,
        "console.log(live, prompt.slug);",
      ].join("\n"),
    );
    const started = Date.now();
    const { stdout, stderr } = await run(process.execPath, [file], {
      env: { ...process.env, PROMPTOPS_API_KEY: read, PROMPTOPS_BASE_URL: server.url },
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), `true ${SLUG}`);
    assert.equal(stderr, "");
    assert.ok(Date.now() - started < 20_000);
  });
});
