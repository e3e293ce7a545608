/** The package as installed: both builds load through the `exports` map with the same
 * public API, the core has no Node-only import, and the wire types are fresh. */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { PACKAGE, CONTRACT } from "./support.js";

// The public API, stated once: a change here is a change of the package's contract.
const PUBLIC = [
  "APIError", "AuthenticationError", "ConfigurationError", "DEFAULT_BASE_URL",
  "DEFAULT_CACHE_TTL_MS", "DEFAULT_TIMEOUT_MS", "DEFAULT_TOLERANCE_SECONDS", "InputTypeError",
  "InvalidPayloadError", "InvalidResponseError", "InvalidSecretError", "InvalidSignatureError",
  "MalformedHeaderError", "MissingHeaderError", "MissingVariablesError", "PermissionDeniedError",
  "PlaceholderValueError", "Prompt", "PromptNotFoundError", "PromptOps", "PromptOpsError",
  "PromptUnavailableError", "SECRET_PREFIX", "ServerError", "SseParser", "Template",
  "TemplateError", "TemplateRenderError", "TemplateSyntaxError",
  "TimestampOutOfToleranceError", "UnknownVariablesError", "UnresolvedPartialError",
  "WebhookVerificationError", "compileTemplate", "formatValue", "render", "signWebhook",
  "variables", "verifyWebhook",
  // run() and its request log
  "DEFAULT_PRICES", "InvalidOutputError", "PriceTable", "RunResult", "RunStream",
  "UnsupportedFieldError", "uuid7",
  // webhook receivers and the shared cache
  "MemoryCache", "RedisCache", "WebhookReceiver",
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe("the package", () => {
  it("loads as ESM with the public API", async () => {
    const esm = (await import("promptops")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(esm).sort(), [...PUBLIC].sort());
  });

  it("loads as CommonJS with the same API, and works", () => {
    const cjs = createRequire(import.meta.url)("promptops") as Record<string, any>;
    assert.deepEqual(Object.keys(cjs).filter((k) => k !== "__esModule").sort(), [...PUBLIC].sort());
    assert.equal(cjs["render"]("Hi {{name}}", { name: "Ada" }), "Hi Ada");
    assert.ok(new cjs["MissingVariablesError"](["x"]) instanceof cjs["PromptOpsError"]);
  });

  it("ships type declarations for both builds", () => {
    for (const build of ["esm", "cjs"]) {
      const index = readFileSync(join(PACKAGE, "dist", build, "index.d.ts"), "utf8");
      assert.match(index, /PromptOps/);
    }
  });

  it("has no Node-only import on the core path", () => {
    const built = files(join(PACKAGE, "dist", "esm")).filter((f) => f.endsWith(".js"));
    assert.ok(built.length > 5);
    for (const file of built) {
      const text = readFileSync(file, "utf8");
      assert.doesNotMatch(text, /from\s+["'](node:|fs|path|os|crypto|http|https|net|child_process|buffer)["']/, file);
      assert.doesNotMatch(text, /\bBuffer\b|\brequire\(/, file);
    }
  });

  it("has wire types generated from the current contract/openapi.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "promptops-wire-"));
    try {
      const out = join(dir, "wire.ts");
      const cli = join(PACKAGE, "node_modules", "openapi-typescript", "bin", "cli.js");
      execFileSync(process.execPath, [cli, join(CONTRACT, "openapi.json"), "-o", out], { stdio: "pipe" });
      const committed = readFileSync(join(PACKAGE, "src", "wire.ts"), "utf8");
      assert.ok(
        readFileSync(out, "utf8") === committed,
        "src/wire.ts is stale: run `npm run generate` in sdks/typescript and commit it",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
