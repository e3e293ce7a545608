/** contract/fixtures/sse/transcripts.json, whole and in every chunking. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { SseParser, type SseEvent } from "../src/sse.js";
import { CONTRACT, readJson } from "./support.js";

interface Transcript {
  name: string;
  stream: string;
  events: SseEvent[];
  last_event_id?: string;
  retry?: number;
}

const CASES = readJson<{ cases: Transcript[] }>(`${CONTRACT}/fixtures/sse/transcripts.json`).cases;

function parse(chunks: string[]): SseParser & { events: SseEvent[] } {
  const parser = new SseParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return Object.assign(parser, { events });
}

describe("SSE transcripts", () => {
  it("are there", () => assert.ok(CASES.length >= 6));
  for (const c of CASES) {
    it(c.name, () => {
      for (const size of [c.stream.length, 1, 2, 3, 7]) {
        const chunks: string[] = [];
        for (let i = 0; i < c.stream.length; i += size) chunks.push(c.stream.slice(i, i + size));
        const parsed = parse(chunks);
        assert.deepEqual(parsed.events, c.events, `chunks of ${size}`);
        assert.equal(parsed.lastEventId, c.last_event_id ?? null);
        assert.equal(parsed.retry, c.retry);
      }
    });
  }
});

describe("SseParser", () => {
  it("ignores a leading byte order mark, and a retry that is not a number", () => {
    const parser = new SseParser();
    const events = [...parser.push("\uFEFF"), ...parser.push("retry: soon\ndata: x\n\n")];
    assert.deepEqual(events, [{ event: "message", data: "x", id: null }]);
    assert.equal(parser.retry, undefined);
  });
});
