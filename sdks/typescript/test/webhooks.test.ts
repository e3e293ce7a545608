/** contract/fixtures/webhooks/signatures.json with Web Crypto, checked independently
 * against the npm `standardwebhooks` package. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Webhook } from "standardwebhooks";

import {
  InvalidPayloadError,
  InvalidSecretError,
  InvalidSignatureError,
  MalformedHeaderError,
  MissingHeaderError,
  TimestampOutOfToleranceError,
  WebhookVerificationError,
} from "../src/errors.js";
import { sign, verifyWebhook } from "../src/webhooks.js";
import { CONTRACT, readJson } from "./support.js";

interface Vectors {
  sign: { name: string; secret: string; id: string; timestamp: number; body: string; signature: string }[];
  verify: {
    name: string;
    secrets: string[];
    headers: Record<string, string>;
    body: string;
    now: number;
    tolerance?: number;
    ok?: boolean;
    error?: string;
  }[];
}

const VECTORS = readJson<Vectors>(`${CONTRACT}/fixtures/webhooks/signatures.json`);
const ERRORS: Record<string, new (...args: any[]) => WebhookVerificationError> = {
  missing_header: MissingHeaderError,
  malformed_header: MalformedHeaderError,
  timestamp_out_of_tolerance: TimestampOutOfToleranceError,
  invalid_signature: InvalidSignatureError,
};

describe("webhook signature vectors", () => {
  for (const c of VECTORS.sign) {
    it(`sign: ${c.name}`, async () => {
      assert.equal(await sign(c.secret, c.id, c.timestamp, c.body), c.signature);
      // the reference implementation agrees
      const reference = new Webhook(c.secret).sign(c.id, new Date(c.timestamp * 1000), c.body);
      assert.equal(reference, c.signature);
    });
  }

  for (const c of VECTORS.verify) {
    it(`verify: ${c.name}`, async () => {
      const options = { now: c.now, ...(c.tolerance === undefined ? {} : { tolerance: c.tolerance }) };
      if (c.error === undefined) {
        assert.deepEqual(await verifyWebhook(c.body, c.headers, c.secrets, options), JSON.parse(c.body));
        assert.deepEqual(await verifyWebhook(c.body, new Headers(c.headers), c.secrets, options), JSON.parse(c.body));
        assert.deepEqual(await verifyWebhook(new TextEncoder().encode(c.body), Object.entries(c.headers), c.secrets, options), JSON.parse(c.body));
      } else {
        const kind = ERRORS[c.error];
        assert.ok(kind !== undefined, c.error);
        await assert.rejects(verifyWebhook(c.body, c.headers, c.secrets, options), kind);
      }
    });
  }
});

describe("verifyWebhook", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

  it("accepts what the standardwebhooks package signs, now", async () => {
    const body = JSON.stringify({ type: "webhook_test", data: { message: "héllo ✓" } });
    const now = new Date();
    const headers = {
      "webhook-id": "evt_1",
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign("evt_1", now, body),
    };
    assert.deepEqual(await verifyWebhook(body, headers, secret), JSON.parse(body));
    // and the package accepts what we sign
    const ours = await sign(secret, "evt_1", Number(headers["webhook-timestamp"]), body);
    assert.deepEqual(new Webhook(secret).verify(body, { ...headers, "webhook-signature": ours }), JSON.parse(body));
  });

  it("refuses a bad secret as configuration, before reading the request", async () => {
    await assert.rejects(verifyWebhook("{}", {}, "whsec_not base64!"), InvalidSecretError);
    await assert.rejects(verifyWebhook("{}", {}, []), InvalidSecretError);
  });

  it("says when a correctly signed body is not JSON", async () => {
    const headers = { "webhook-id": "m", "webhook-timestamp": "1000", "webhook-signature": await sign(secret, "m", 1000, "not json") };
    await assert.rejects(verifyWebhook("not json", headers, secret, { now: 1000 }), InvalidPayloadError);
    assert.equal(await verifyWebhook("not json", headers, secret, { now: 1000, parse: false }), undefined);
  });
});
