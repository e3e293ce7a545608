/** Runs every `js` block of docs/sdk-typescript.md as a Node script against a real server
 * (see server.ts), in an empty folder inside the package (so `import "promptops"` is this
 * build), with the docs' placeholders replaced: a block passes when it exits 0 with nothing
 * on stderr (a failed `console.assert` prints there). */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import { startServer, type RunningServer } from "./server.js";
import { PACKAGE, REPO } from "./support.js";

const run = promisify(execFile);
const DOC = readFileSync(join(REPO, "docs", "sdk-typescript.md"), "utf8");
const BLOCKS = [...DOC.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => ({
  code: m[1] as string,
  line: DOC.slice(0, m.index).split("\n").length,
}));

describe("docs/sdk-typescript.md examples", () => {
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
  after(async () => server.stop(true));

  it("has examples", () => assert.ok(BLOCKS.length >= 3));

  for (const block of BLOCKS) {
    it(`runs the block at line ${block.line}`, async () => {
      const dir = join(PACKAGE, "build-test", "docs", `line${block.line}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const code = block.code
        .replaceAll("http://127.0.0.1:8000", server.url)
        .replaceAll("<dev write key>", server.grab("dev write key:"));
      const file = join(dir, "block.mjs");
      writeFileSync(file, code);
      const { stderr } = await run(process.execPath, [file], { env, cwd: dir, timeout: 30_000 });
      assert.equal(stderr, "");
    });
  }
});
