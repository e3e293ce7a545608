/**
 * Webhook signatures per the Standard Webhooks scheme (https://www.standardwebhooks.com),
 * with Web Crypto only (Node 20+, Deno, Bun, Workers, edge runtimes). A port of the Python
 * `promptops.webhooks.verify`, held to `contract/fixtures/webhooks/signatures.json`.
 *
 * Every delivery carries `webhook-id` (the event id: an idempotency key), `webhook-timestamp`
 * (integer Unix seconds of this attempt) and `webhook-signature`: `v1,<base64 HMAC-SHA256 of
 * "{id}.{timestamp}.{body}">`, several space-separated while a secret is rotated. The key is
 * the base64 part of the endpoint secret `whsec_<base64>`.
 */

import {
  InvalidPayloadError,
  InvalidSecretError,
  InvalidSignatureError,
  MalformedHeaderError,
  MissingHeaderError,
  TimestampOutOfToleranceError,
} from "./errors.js";

export const SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_SECONDS = 300;
const MAX_SIGNATURES = 16; // more than this in one header is not a rotation, it is an attack

/** Headers as a `Headers` object (fetch, Request), a plain object (node:http's
 * `req.headers`, Express) or a list of pairs; looked up case-insensitively. */
export type WebhookHeaders =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | Iterable<readonly [string, string]>;

export interface VerifyOptions {
  /** Accepted distance between the timestamp and now, seconds, either way (default 300). */
  tolerance?: number;
  /** Now, Unix seconds (default: the clock). */
  now?: number;
  /** Parse the body as JSON and return it (default true); false returns undefined. */
  parse?: boolean;
}

const encoder = new TextEncoder();

function base64Decode(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
  try {
    const binary = atob(text.padEnd(text.length + ((4 - (text.length % 4)) % 4), "="));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function keyBytes(secret: string | Uint8Array): Uint8Array {
  if (secret instanceof Uint8Array) {
    if (!secret.length) throw new InvalidSecretError("the webhook secret is empty");
    return secret;
  }
  let text = secret.trim();
  if (text.startsWith(SECRET_PREFIX)) text = text.slice(SECRET_PREFIX.length);
  const key = base64Decode(text);
  if (key === undefined) {
    throw new InvalidSecretError(
      "the webhook secret must be 'whsec_' followed by base64 (as shown when the endpoint was created)",
    );
  }
  if (!key.length) throw new InvalidSecretError("the webhook secret is empty");
  return key;
}

async function digest(key: Uint8Array, id: string, timestamp: number, body: Uint8Array): Promise<Uint8Array> {
  const hmac = await crypto.subtle.importKey("raw", new Uint8Array(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", hmac, signed));
}

function asBytes(body: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof body === "string") return encoder.encode(body);
  return body instanceof Uint8Array ? body : new Uint8Array(body);
}

function header(headers: WebhookHeaders, name: string): string {
  let value: string | undefined;
  if (typeof (headers as Headers).get === "function" && typeof (headers as Headers).has === "function") {
    value = (headers as Headers).get(name) ?? undefined;
  } else if (Symbol.iterator in headers) {
    for (const [key, item] of headers as Iterable<readonly [string, string]>) {
      if (key.toLowerCase() === name) {
        value = item;
        break;
      }
    }
  } else {
    for (const [key, item] of Object.entries(headers)) {
      if (key.toLowerCase() === name) {
        value = Array.isArray(item) ? item.join(" ") : (item as string | undefined);
        break;
      }
    }
  }
  if (value === undefined || !value.trim()) throw new MissingHeaderError(name);
  return value.trim();
}

/** Equal bytes, comparing every byte whatever the first difference. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i % b.length] ?? 0);
  return diff === 0;
}

/** The signature `v1,<base64>` of one message with one secret. */
export async function sign(
  secret: string | Uint8Array,
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): Promise<string> {
  if (id.includes(".")) throw new TypeError("a webhook id must not contain '.'");
  return `v1,${base64Encode(await digest(keyBytes(secret), id, Math.trunc(timestamp), asBytes(body)))}`;
}

/**
 * Check a webhook request and return its parsed JSON body.
 *
 * `body` is the raw request body exactly as received (never parse and re-serialise it
 * first). `secrets` is the endpoint secret, or a list of them while rotating (any one may
 * match). Rejects with a `WebhookVerificationError` subclass (`MissingHeaderError`,
 * `MalformedHeaderError`, `TimestampOutOfToleranceError`, `InvalidSignatureError`,
 * `InvalidPayloadError`), or an `InvalidSecretError` for a secret that is not `whsec_<base64>`.
 */
export async function verifyWebhook(
  body: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  secrets: string | Uint8Array | readonly (string | Uint8Array)[],
  options: VerifyOptions = {},
): Promise<unknown> {
  const list = typeof secrets === "string" || secrets instanceof Uint8Array ? [secrets] : [...secrets];
  const keys = list.map(keyBytes); // a bad secret is a configuration error: raise it first
  if (!keys.length) throw new InvalidSecretError("no webhook secret given");
  const id = header(headers, "webhook-id");
  const stamp = header(headers, "webhook-timestamp");
  if (!/^[0-9]{1,12}$/.test(stamp)) {
    throw new MalformedHeaderError("webhook-timestamp", "must be integer Unix seconds");
  }
  const timestamp = Number(stamp);
  const signature = header(headers, "webhook-signature");
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - timestamp) > tolerance) throw new TimestampOutOfToleranceError(timestamp, now, tolerance);
  const given: Uint8Array[] = [];
  for (const item of signature.split(/\s+/).slice(0, MAX_SIGNATURES)) {
    const comma = item.indexOf(",");
    if (comma === -1 || item.slice(0, comma) !== "v1" || comma === item.length - 1) continue;
    const decoded = base64Decode(item.slice(comma + 1));
    if (decoded !== undefined) given.push(decoded);
  }
  if (!given.length) throw new MalformedHeaderError("webhook-signature", "has no 'v1,<base64>' signature");
  const raw = asBytes(body);
  let matched = false;
  for (const key of keys) {
    const expected = await digest(key, id, timestamp, raw);
    // compare every pair (no early exit) so timing says nothing about which matched
    for (const candidate of given) matched = same(expected, candidate) || matched;
  }
  if (!matched) {
    throw new InvalidSignatureError(
      "the webhook signature does not match: wrong secret, or the body was changed" +
        " (verify the raw body, before any JSON parsing)",
    );
  }
  if (options.parse === false) return undefined;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (err) {
    throw new InvalidPayloadError(`the webhook body is not JSON: ${(err as Error).message}`);
  }
}
