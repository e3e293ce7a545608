/** The request-log record builder against the contract fixture `fixtures/logs/records.json`
 * (the Python SDK runs the same cases): each entry encodes to exactly the fixture's record. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";

import { DEFAULT_PRICES, PriceTable } from "../src/index.js";
import { encodeEntry, utf8Length, type LogEntry } from "../src/logs/record.js";
import { getProvider } from "../src/providers/registry.js";
import { CONTRACT, readJson } from "./support.js";

const DATA = readJson(join(CONTRACT, "fixtures", "logs", "records.json"));

function entryOf(raw: any): LogEntry {
  const request = structuredClone(raw.request);
  if (raw.repeat_content) request.messages[0].content = "x".repeat(raw.repeat_content);
  return {
    id: raw.id, created: raw.created_ms, provider: getProvider(raw.provider), model: raw.model,
    prompt: { slug: raw.prompt.slug, version: raw.prompt.version, environment: raw.prompt.environment, isFallback: raw.prompt.is_fallback },
    kwargs: request, response: raw.response, chunks: raw.chunks, error: raw.error, errorBody: raw.error_body,
    latencyMs: raw.latency_ms, metadata: raw.metadata, tags: raw.tags, seq: 0, size: 0, encoded: null,
  };
}

describe("log records (contract fixture)", () => {
  for (const item of DATA.records as any[]) {
    it(item.name, () => {
      const encoded = encodeEntry(entryOf(item.entry), new PriceTable());
      assert.deepStrictEqual(JSON.parse(encoded), item.record);
      if (item.record_bytes !== undefined) assert.equal(utf8Length(encoded), item.record_bytes);
    });
  }

  it("has the same default prices", () => {
    assert.deepStrictEqual(Object.fromEntries(Object.entries(DEFAULT_PRICES).map(([m, p]) => [m, [...p]])), DATA.prices);
  });

  it("estimates the same costs", () => {
    const table = new PriceTable();
    for (const c of DATA.costs as any[]) assert.equal(table.cost(c.model, c.input_tokens, c.output_tokens), c.cost_usd, c.model);
  });
});
