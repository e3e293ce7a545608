/**
 * Prompt cache stores that webhooks keep fresh (the Python SDK's `promptops.receivers`
 * stores, the same rules): a store holds prompts as JSON objects shaped like the body of
 * `GET /v1/prompts/{slug}/active` (the `data.prompt` of a webhook), under two keys:
 *
 * - `(slug, environment)`: the version active there. Written only when the incoming
 *   `deployment_id` is not smaller than the stored one, so a late event (a retry, a
 *   redelivery) never replaces a newer deployment with an older one; an equal one with other
 *   content replaces it (`prompt_template_updated`: a snippet it includes moved).
 * - `(slug, version)`: an immutable version, `environment`, `deployed_at` and
 *   `deployment_id` set to null (like `GET /v1/prompts/{slug}/versions/{n}`).
 *
 * `new PromptOps({ cache })` reads through the same interface, so any process, Python or
 * TypeScript, serves prompts that a receiver in another process wrote (`RedisCache`).
 */

type Json = Record<string, unknown>;

/** Exactly one of `environment` / `version`. */
export type CacheKey = { environment: string; version?: undefined } | { version: number; environment?: undefined };

/** What a webhook receiver writes and the client reads. */
export interface SharedCache {
  /** The cached prompt for `(slug, environment)` or `(slug, version)`; null when absent. */
  get(slug: string, key: CacheKey): Promise<Json | null>;
  /** Store a prompt under its version and, when it names an environment, under that
   * environment unless a newer deployment is stored there (then false). */
  set(prompt: Readonly<Json>): Promise<boolean>;
  /** Forget one entry. */
  delete(slug: string, key: CacheKey): Promise<void>;
}

const VERSION_ONLY = { environment: null, deployed_at: null, deployment_id: null };

export function oneKey(key: CacheKey): void {
  const count = Number(key?.environment !== undefined) + Number(key?.version !== undefined);
  if (count !== 1) throw new TypeError("give exactly one of { environment } or { version }");
}

/** A prompt object checked and split into its entries. Throws TypeError for an object that
 * is not a prompt. */
export function entriesFor(prompt: Readonly<Json>): {
  slug: string;
  version: number;
  versionEntry: Json;
  env: { environment: string; deploymentId: number; value: Json } | null;
} {
  const slug = prompt["slug"];
  const version = prompt["version"];
  if (typeof slug !== "string" || !slug || !Number.isInteger(version)) {
    throw new TypeError("not a prompt: needs a 'slug' string and a 'version' integer");
  }
  const value = JSON.parse(JSON.stringify(prompt)) as Json; // a private, JSON-clean copy
  const environment = value["environment"];
  let env = null;
  if (environment !== null && environment !== undefined) {
    const deploymentId = value["deployment_id"];
    if (typeof environment !== "string" || !Number.isInteger(deploymentId)) {
      throw new TypeError("a deployed prompt needs 'environment' and 'deployment_id'");
    }
    env = { environment, deploymentId: deploymentId as number, value };
  }
  return { slug, version: version as number, versionEntry: { ...value, ...VERSION_ONLY }, env };
}

/** JSON text as Python's `json.dumps(value, separators=(",", ":"))` writes it (non-ASCII
 * escaped as `\uXXXX`), so both SDKs store the same bytes for the same prompt. */
export function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** An in-process store (one process: the receiver and the readers share it). */
export class MemoryCache implements SharedCache {
  readonly #byEnv = new Map<string, Json>();
  readonly #byVersion = new Map<string, Json>();

  async get(slug: string, key: CacheKey): Promise<Json | null> {
    oneKey(key);
    const found = key.environment !== undefined
      ? this.#byEnv.get(`${slug}\u0000${key.environment}`)
      : this.#byVersion.get(`${slug}\u0000${key.version}`);
    return found === undefined ? null : structuredClone(found);
  }

  async set(prompt: Readonly<Json>): Promise<boolean> {
    const { slug, version, versionEntry, env } = entriesFor(prompt);
    this.#byVersion.set(`${slug}\u0000${version}`, versionEntry);
    if (env === null) return true;
    const key = `${slug}\u0000${env.environment}`;
    const current = this.#byEnv.get(key);
    if (current !== undefined) {
      const stored = current["deployment_id"] as number;
      if (stored > env.deploymentId || (stored === env.deploymentId && equal(current, env.value))) return false;
    }
    this.#byEnv.set(key, env.value);
    return true;
  }

  async delete(slug: string, key: CacheKey): Promise<void> {
    oneKey(key);
    if (key.environment !== undefined) this.#byEnv.delete(`${slug}\u0000${key.environment}`);
    else this.#byVersion.delete(`${slug}\u0000${key.version}`);
  }

  clear(): void {
    this.#byEnv.clear();
    this.#byVersion.clear();
  }

  get size(): number {
    return this.#byEnv.size + this.#byVersion.size;
  }
}
