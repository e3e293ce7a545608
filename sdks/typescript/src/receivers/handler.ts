/**
 * Receive PromptOps webhooks and keep a prompt cache fresh (the Python SDK's
 * `WebhookReceiver`, the same answers):
 *
 * ```ts
 * const receiver = new WebhookReceiver({ secret: process.env.PROMPTOPS_WEBHOOK_SECRET!, cache });
 * export const POST = receiver.fetchHandler();            // Next.js route handler, Hono, Workers
 * app.post("/webhooks/promptops", receiver.nodeHandler()); // node:http / Express
 * ```
 *
 * 200 when the event was verified and applied (also for event types with nothing to cache),
 * 400 when verification fails, 405 for another method, 413 for an oversized body, 500 when
 * the cache or `onEvent` failed (so PromptOps retries the delivery later).
 */

import { WebhookVerificationError } from "../errors.js";
import { DEFAULT_TOLERANCE_SECONDS, keyBytes, verifyWebhook, type WebhookHeaders } from "../webhooks.js";
import type { SharedCache } from "./cache.js";

type Json = Record<string, unknown>;

export interface WebhookReceiverOptions {
  /** The endpoint secret (`whsec_…`), or a list while rotating. */
  secret: string | readonly string[];
  /** Where the prompts go (MemoryCache, RedisCache); none: only verify and call onEvent. */
  cache?: SharedCache;
  /** Accepted clock distance, seconds (default 300). */
  tolerance?: number;
  /** When given, events of other projects are acknowledged and ignored. */
  projectId?: string;
  /** Called after the cache update with the verified event. */
  onEvent?: (event: Json) => void | Promise<void>;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string>;
}

const reply = (status: number, data: Json, headers: Record<string, string> = {}): Reply => ({
  status,
  body: JSON.stringify(data),
  headers: { "content-type": "application/json", ...headers },
});

/** Minimal shapes of node:http's request and response (nothing is imported from Node). */
export interface NodeRequest {
  method?: string | undefined;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Set by a body parser that ran first (`express.raw()`: a Buffer; `express.text()`). */
  body?: unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

export interface NodeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

export class WebhookReceiver {
  readonly secret: string | readonly string[];
  readonly cache: SharedCache | undefined;
  readonly tolerance: number;
  readonly projectId: string | undefined;
  readonly onEvent: ((event: Json) => void | Promise<void>) | undefined;
  readonly maxBodyBytes: number;

  constructor(options: WebhookReceiverOptions) {
    const secrets = typeof options.secret === "string" ? [options.secret] : [...options.secret];
    secrets.forEach(keyBytes); // a wrong secret is a startup error, not a 400 per request
    this.secret = options.secret;
    this.cache = options.cache;
    this.tolerance = options.tolerance ?? DEFAULT_TOLERANCE_SECONDS;
    this.projectId = options.projectId;
    this.onEvent = options.onEvent;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  /** Update the cache from a verified event: "updated", "stale" (a newer deployment is
   * cached: kept) or "ignored" (nothing to cache). */
  async apply(event: Json): Promise<"updated" | "stale" | "ignored"> {
    const project = event["project"] as Json | undefined;
    if (this.projectId !== undefined && (typeof project !== "object" || project === null || project["id"] !== this.projectId)) {
      return "ignored";
    }
    const data = event["data"];
    const prompt = typeof data === "object" && data !== null ? (data as Json)["prompt"] : undefined;
    if (this.cache === undefined || typeof prompt !== "object" || prompt === null || Array.isArray(prompt)) return "ignored";
    return (await this.cache.set(prompt as Json)) ? "updated" : "stale";
  }

  /** Handle one request (raw body, headers); never rejects. */
  async handle(body: string | Uint8Array, headers: WebhookHeaders): Promise<Reply> {
    const size = typeof body === "string" ? new TextEncoder().encode(body).length : body.length;
    if (size > this.maxBodyBytes) return reply(413, { error: "body too large" });
    let event: unknown;
    try {
      event = await verifyWebhook(body, headers, this.secret, { tolerance: this.tolerance });
    } catch (err) {
      if (err instanceof WebhookVerificationError) return reply(400, { error: err.message });
      return reply(500, { error: `could not verify the webhook: ${(err as Error).name}` });
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      return reply(400, { error: "the webhook body is not a JSON object" });
    }
    try {
      const result = await this.apply(event as Json);
      await this.onEvent?.(event as Json);
      return reply(200, { ok: true, id: (event as Json)["id"] ?? null, cache: result });
    } catch (err) {
      return reply(500, { error: `could not apply the event: ${err instanceof Error ? err.name : "Error"}` });
    }
  }

  /** A Web-standard handler, `(Request) => Promise<Response>`: a Next.js route handler
   * (`export const POST = receiver.fetchHandler()`), Hono (`c => handler(c.req.raw)`),
   * Cloudflare Workers, Deno, Bun. */
  fetchHandler(): (request: Request) => Promise<Response> {
    return async (request: Request): Promise<Response> => {
      if (request.method !== "POST") return toResponse(reply(405, { error: "use POST" }, { allow: "POST" }));
      const declared = Number(request.headers.get("content-length") ?? "0");
      if (declared > this.maxBodyBytes) return toResponse(reply(413, { error: "body too large" }));
      const body = new Uint8Array(await request.arrayBuffer());
      return toResponse(await this.handle(body, request.headers));
    };
  }

  /** A `node:http` / Express handler, `(req, res) => void`. It reads the raw body itself;
   * behind Express body parsers mount it with `express.raw({ type: "*\/*" })` (a parsed
   * JSON body cannot be verified: answered 400 saying so). */
  nodeHandler(): (req: NodeRequest, res: NodeResponse, next?: (err?: unknown) => void) => void {
    return (req, res) => {
      void this.#node(req).then((answer) => send(res, answer), () => send(res, reply(500, { error: "could not read the request" })));
    };
  }

  async #node(req: NodeRequest): Promise<Reply> {
    if (req.method !== "POST") return reply(405, { error: "use POST" }, { allow: "POST" });
    let body: string | Uint8Array | null;
    if (req.body instanceof Uint8Array || typeof req.body === "string") body = req.body;
    else if (req.body !== undefined && req.body !== null && typeof req.body === "object" && Object.keys(req.body).length) {
      return reply(400, { error: "the body was parsed before it reached the receiver: mount it with express.raw({ type: '*/*' })" });
    } else body = await readBody(req, this.maxBodyBytes);
    if (body === null) return reply(413, { error: "body too large" });
    return this.handle(body, req.headers);
  }
}

function toResponse(answer: Reply): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

function send(res: NodeResponse, answer: Reply): void {
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.end(answer.body);
}

function readBody(req: NodeRequest, limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Uint8Array | string) => {
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      size += bytes.length;
      if (size > limit) over = true;
      else if (!over) chunks.push(bytes);
    });
    req.on("end", () => {
      if (over) return resolve(null);
      const out = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      resolve(out);
    });
    req.on("error", reject);
  });
}
