/** Runs every `js` code block of README.md: the client blocks as scripts against a real
 * server (see server.ts), the webhook handler block imported and called. */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import { signWebhook } from "../src/index.js";
import { startServer, type RunningServer } from "./server.js";
import { PACKAGE } from "./support.js";

const run = promisify(execFile);
const README = readFileSync(join(PACKAGE, "README.md"), "utf8");
const BLOCKS = [...README.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);
// Inside the package, so `import "promptops"` resolves to this package's build.
const DIR = join(PACKAGE, "build-test", "readme");
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

function write(index: number): string {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `block${index}.mjs`);
  writeFileSync(file, BLOCKS[index] as string);
  return file;
}

describe("README examples", () => {
  let server: RunningServer;
  let env: Record<string, string>;
  before(async () => {
    server = await startServer();
    env = {
      ...(process.env as Record<string, string>),
      PROMPTOPS_API_KEY: server.grab("dev read key:"),
      PROMPTOPS_BASE_URL: server.url,
    };
  });
  after(async () => server.stop());

  it("has the four blocks this test knows", () => {
    assert.equal(BLOCKS.length, 4);
    assert.match(BLOCKS[0] as string, /getPrompt\("onboarding-email"/);
    assert.match(BLOCKS[1] as string, /subscribe: true/);
    assert.match(BLOCKS[2] as string, /Prompt\.fromPayload/);
    assert.match(BLOCKS[3] as string, /export async function POST/);
  });

  it("gets and renders a prompt (block 1)", async () => {
    const { stdout } = await run(process.execPath, [write(0)], { env });
    assert.match(stdout, /^\d+ false \[/);
    assert.match(stdout, /Ada/);
    assert.match(stdout, /Pro plan|Acme/);
  });

  it("subscribes and keeps a snapshot file (block 2)", async () => {
    const dir = join(DIR, "live");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "block1.mjs");
    writeFileSync(file, BLOCKS[1] as string);
    const { stdout, stderr } = await run(process.execPath, [file], { env, cwd: dir });
    assert.equal(stderr, "");
    assert.match(stdout, /^true\n\d+ true\n$/);
    const snapshot = JSON.parse(readFileSync(join(dir, "prompts.json"), "utf8")) as { format: number; prompts: { slug: string }[] };
    assert.equal(snapshot.format, 1);
    assert.deepEqual(snapshot.prompts.map((p) => p.slug), ["onboarding-email"]);
  });

  it("renders with placeholders and errors (block 3)", async () => {
    // console.assert prints "Assertion failed" on stderr instead of throwing
    const { stderr } = await run(process.execPath, ["--input-type=module", "-e", BLOCKS[2] as string], {
      env,
      cwd: DIR,
    });
    assert.equal(stderr, "");
  });

  it("verifies webhooks in a Web-standard handler (block 4)", async () => {
    process.env["PROMPTOPS_WEBHOOK_SECRET"] = SECRET;
    try {
      const { POST } = (await import(write(3))) as { POST: (r: Request) => Promise<Response> };
      const body = JSON.stringify({ id: "evt_1", type: "webhook_test", data: {} });
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signWebhook(SECRET, "evt_1", timestamp, body),
      };
      const good = await POST(new Request("http://x/hook", { method: "POST", body, headers }));
      assert.equal(good.status, 200);
      assert.deepEqual(await good.json(), { received: "webhook_test" });
      const tampered = await POST(new Request("http://x/hook", { method: "POST", body: body + " ", headers }));
      assert.equal(tampered.status, 400);
    } finally {
      delete process.env["PROMPTOPS_WEBHOOK_SECRET"];
    }
  });
});
