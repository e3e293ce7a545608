/**
 * A prompt cache in Redis, shared by every process of an application, Python and TypeScript
 * alike: exactly the Python `promptops.receivers.RedisCache` layout and encoding. Keys
 * (`prefix` defaults to `promptops:`; use one prefix per PromptOps project):
 *
 * ```
 * {prefix}env:{slug}:{environment}   hash: deployment_id, payload (JSON)
 * {prefix}ver:{slug}:{version}       string: payload (JSON)
 * ```
 *
 * Payloads are compact JSON with non-ASCII escaped, as Python's `json.dumps` writes them.
 * The environment entry is replaced atomically (the same Lua script) only by a
 * `deployment_id` not smaller than its own. Works with a connected node-redis client
 * (`createClient()` of the `redis` package, an optional peer dependency), through its
 * `sendCommand`; nothing is imported here.
 */

import { entriesFor, oneKey, pythonJson, type CacheKey, type SharedCache } from "./cache.js";

type Json = Record<string, unknown>;

// KEYS[1] the environment key; ARGV: deployment_id, payload, ttl in ms (0: none)
const SET_IF_NEWER = `
local current = redis.call('HGET', KEYS[1], 'deployment_id')
if current then
  local stored, incoming = tonumber(current), tonumber(ARGV[1])
  if stored > incoming then return 0 end
  if stored == incoming and redis.call('HGET', KEYS[1], 'payload') == ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'deployment_id', ARGV[1], 'payload', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

/** What RedisCache needs of a Redis client: node-redis's `sendCommand`. */
export interface RedisCommands {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface RedisCacheOptions {
  /** Key prefix (default "promptops:"). */
  prefix?: string;
  /** Expire entries that no webhook refreshed for this long, ms (default: never). */
  ttlMs?: number;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value);
}

export class RedisCache implements SharedCache {
  readonly client: RedisCommands;
  readonly prefix: string;
  readonly ttlMs: number;

  constructor(client: RedisCommands, options: RedisCacheOptions = {}) {
    if (typeof client?.sendCommand !== "function") {
      throw new TypeError("RedisCache needs a node-redis client (createClient() of the redis package)");
    }
    this.client = client;
    this.prefix = options.prefix ?? "promptops:";
    this.ttlMs = Math.max(0, Math.floor(options.ttlMs ?? 0));
  }

  envKey(slug: string, environment: string): string {
    return `${this.prefix}env:${slug}:${environment}`;
  }

  versionKey(slug: string, version: number): string {
    return `${this.prefix}ver:${slug}:${version}`;
  }

  async get(slug: string, key: CacheKey): Promise<Json | null> {
    oneKey(key);
    const raw = key.environment !== undefined
      ? await this.client.sendCommand(["HGET", this.envKey(slug, key.environment), "payload"])
      : await this.client.sendCommand(["GET", this.versionKey(slug, key.version)]);
    const found = text(raw);
    return found === null ? null : (JSON.parse(found) as Json);
  }

  async set(prompt: Readonly<Json>): Promise<boolean> {
    const { slug, version, versionEntry, env } = entriesFor(prompt);
    const set = ["SET", this.versionKey(slug, version), pythonJson(versionEntry)];
    if (this.ttlMs) set.push("PX", String(this.ttlMs));
    await this.client.sendCommand(set);
    if (env === null) return true;
    const written = await this.client.sendCommand([
      "EVAL", SET_IF_NEWER, "1", this.envKey(slug, env.environment), String(env.deploymentId), pythonJson(env.value), String(this.ttlMs),
    ]);
    return Number(written) === 1;
  }

  async delete(slug: string, key: CacheKey): Promise<void> {
    oneKey(key);
    await this.client.sendCommand(["DEL", key.environment !== undefined ? this.envKey(slug, key.environment) : this.versionKey(slug, key.version)]);
  }

  /** Delete every entry under this prefix; how many keys. */
  async clear(): Promise<number> {
    const pattern = this.prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + "*";
    let cursor = "0";
    let deleted = 0;
    do {
      const [next, keys] = (await this.client.sendCommand(["SCAN", cursor, "MATCH", pattern, "COUNT", "500"])) as [unknown, unknown[]];
      cursor = text(next) ?? "0";
      if (keys.length) deleted += Number(await this.client.sendCommand(["DEL", ...keys.map((k) => text(k) as string)]));
    } while (cursor !== "0");
    return deleted;
  }
}
