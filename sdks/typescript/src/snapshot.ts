/**
 * The optional snapshot file (`snapshotPath`, Node): the last good prompts on disk, for a
 * cold start while the server is down. The Python SDK's format (`sdk/snapshot.py`), so the
 * two SDKs can share one file:
 *
 *     {"format": 1, "owner": "<base URL>#<sha256(API key) hex, first 16>",
 *      "prompts": [{"slug": ..., "version": null | N, "etag": ..., "data": {...server JSON...}}]}
 *
 * Written atomically (a temporary file in the same folder, fsync, then rename), so a reader
 * never sees half a file; writes are serialised, and one that is asked for while another
 * runs is made once after it. A file written for another server or API key is ignored,
 * never served; an unreadable one is ignored too. Errors are reported to `onError`, never
 * thrown.
 *
 * `node:fs/promises` is loaded by a dynamic import with a variable specifier, so the core
 * stays importable on edge runtimes (where a snapshot path is reported as unusable).
 */

import { cacheKey, makeEntry, type Entry } from "./cache.js";
import { Prompt } from "./prompt.js";

const FORMAT = 1;

interface FileHandle {
  writeFile(data: string, encoding: "utf8"): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** `node:fs/promises`, as far as this file uses it. */
interface Fs {
  readFile(path: string, encoding: "utf8"): Promise<string>;
  open(path: string, flags: string, mode: number): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
}

interface SnapshotRecord {
  slug: string;
  version: number | null;
  etag: string | null;
  data: Record<string, unknown>;
}

/** `<base URL>#<first 16 hex digits of sha256(API key)>` (Web Crypto). */
export async function ownerFingerprint(baseUrl: string, apiKey: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(apiKey));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${baseUrl.replace(/\/+$/, "")}#${hex.slice(0, 16)}`;
}

function folderOf(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut <= 0 ? (cut === 0 ? path.slice(0, 1) : ".") : path.slice(0, cut);
}

function nameOf(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
}

export class Snapshot {
  readonly path: string;
  readonly owner: string;
  readonly #fs: Fs;
  readonly #onError: (message: string) => void;
  readonly #records = new Map<string, SnapshotRecord>();
  readonly #entries = new Map<string, Entry>();
  #writing: Promise<void> | undefined;
  #again = false;

  private constructor(path: string, owner: string, fs: Fs, onError: (message: string) => void) {
    this.path = path;
    this.owner = owner;
    this.#fs = fs;
    this.#onError = onError;
  }

  /** The snapshot at `path`, read (a missing file is an empty snapshot); undefined when
   * this runtime has no file system. */
  static async open(
    path: string,
    baseUrl: string,
    apiKey: string,
    onError: (message: string) => void,
  ): Promise<Snapshot | undefined> {
    let fs: Fs;
    try {
      const name = "node:fs/promises"; // a variable: bundlers for edge runtimes leave it alone
      fs = (await import(name)) as Fs;
    } catch (err) {
      onError(`snapshotPath needs a file system (Node), which this runtime lacks: ${String(err)}`);
      return undefined;
    }
    const snapshot = new Snapshot(path, await ownerFingerprint(baseUrl, apiKey), fs, onError);
    await snapshot.#load();
    return snapshot;
  }

  async #load(): Promise<void> {
    let raw: string;
    try {
      raw = await this.#fs.readFile(this.path, "utf8");
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ENOENT") this.#onError(`cannot read the snapshot file ${this.path}: ${String(err)}`);
      return;
    }
    try {
      const doc = JSON.parse(raw) as { format?: unknown; owner?: unknown; prompts?: unknown };
      if (doc.format !== FORMAT) throw new Error(`unknown format ${JSON.stringify(doc.format)}`);
      if (doc.owner !== this.owner) {
        this.#onError(`ignoring the snapshot file ${this.path}: it was written for another server or API key`);
        return;
      }
      if (!Array.isArray(doc.prompts)) throw new Error("no prompts list");
      for (const item of doc.prompts as SnapshotRecord[]) {
        const { slug, version, etag, data } = item;
        if (typeof slug !== "string") throw new Error("bad slug");
        if (version !== null && !Number.isInteger(version)) throw new Error("bad version");
        if (typeof data !== "object" || data === null) throw new Error("bad data");
        const key = cacheKey(slug, version ?? undefined);
        this.#records.set(key, { slug, version, etag: typeof etag === "string" ? etag : null, data });
      }
    } catch (err) {
      this.#onError(`ignoring the unreadable snapshot file ${this.path}: ${String(err)}`);
      this.#records.clear();
    }
  }

  get size(): number {
    return this.#records.size;
  }

  /** The snapshot's value for `key` as an (expired) cache entry, or undefined. */
  get(key: string): Entry | undefined {
    const cached = this.#entries.get(key);
    if (cached !== undefined) return cached;
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    let prompt: Prompt;
    try {
      prompt = Prompt.fromPayload(record.data);
    } catch (err) {
      this.#onError(`snapshot entry ${record.slug} is not a prompt: ${String(err)}`);
      this.#records.delete(key);
      return undefined;
    }
    const entry = makeEntry(prompt, -Infinity, record.etag);
    this.#entries.set(key, entry);
    return entry;
  }

  /** Record a good value; true if that changes the file's contents. */
  put(key: string, slug: string, version: number | undefined, data: unknown, etag: string | null): boolean {
    if (typeof data !== "object" || data === null) return false;
    const before = this.#records.get(key);
    const record: SnapshotRecord = { slug, version: version ?? null, etag, data: data as Record<string, unknown> };
    if (before !== undefined && before.etag === etag && JSON.stringify(before.data) === JSON.stringify(record.data)) return false;
    this.#records.set(key, record);
    this.#entries.delete(key);
    return true;
  }

  discard(key: string): boolean {
    this.#entries.delete(key);
    return this.#records.delete(key);
  }

  /** Write the file (atomically); resolves when written, never rejects. */
  write(): Promise<void> {
    if (this.#writing !== undefined) {
      this.#again = true;
      return this.#writing;
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false;
        await this.#writeOnce();
      } while (this.#again);
      this.#writing = undefined;
    };
    this.#writing = run();
    return this.#writing;
  }

  /** Resolves when no write is in progress. */
  async settle(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
  }

  async #writeOnce(): Promise<void> {
    const doc = { format: FORMAT, owner: this.owner, prompts: [...this.#records.values()] };
    const folder = folderOf(this.path);
    const random = Math.random().toString(36).slice(2, 10);
    const tmp = `${folder}/.${nameOf(this.path)}.${random}.tmp`;
    let created = false;
    try {
      await this.#fs.mkdir(folder, { recursive: true });
      const handle = await this.#fs.open(tmp, "wx", 0o600);
      created = true;
      try {
        await handle.writeFile(JSON.stringify(doc), "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.#fs.rename(tmp, this.path);
      created = false;
    } catch (err) {
      this.#onError(`cannot write the snapshot file ${this.path}: ${String(err)}`);
    } finally {
      if (created) await this.#fs.unlink(tmp).catch(() => undefined);
    }
  }
}
