/** A real PromptOps server process for the integration tests: `python -m
 * promptops.cli.main serve` on a free port, in a fresh folder (a new SQLite file, the demo
 * project), running this checkout (PYTHONPATH), its printed keys read as tests/demo_server.py
 * reads them. */

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { REPO } from "./support.js";

export interface RunningServer {
  url: string;
  lines: string[];
  process: ChildProcess;
  /** The last word of the first printed line containing `label`. */
  grab(label: string): string;
  /** Stop it (SIGKILL when `kill`, else SIGINT) and remove its folder. */
  stop(kill?: boolean): Promise<void>;
  /** Kill it (SIGKILL) and start it again on the same port and database. */
  restart(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

interface Spawned {
  child: ChildProcess;
  ended: Promise<void>;
  exited(): boolean;
}

async function spawnServer(folder: string, port: number, lines: string[]): Promise<Spawned> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PROMPTOPS_") && v !== undefined) env[k] = v;
  env["PROMPTOPS_BCRYPT_ROUNDS"] = "4";
  env["PYTHONPATH"] = join(REPO, "src");
  const python = process.env["PROMPTOPS_PYTHON"] ?? "python3";
  const child = spawn(python, ["-m", "promptops.cli.main", "serve", "--port", String(port)], {
    cwd: folder,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exited = false;
  const ended = new Promise<void>((resolve) => child.once("exit", () => { exited = true; resolve(); }));
  await new Promise<void>((resolve, reject) => {
    let pending = "";
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${lines.join("\n")}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString("utf8");
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      lines.push(...parts);
      if (parts.some((line) => line.includes("Application startup complete"))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${String(code)}):\n${lines.join("\n")}${pending}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) { // "startup complete" is logged before the socket is bound
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch (err) {
      if (i > 300) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { child, ended, exited: () => exited };
}

export async function startServer(): Promise<RunningServer> {
  const folder = mkdtempSync(join(tmpdir(), "promptops-ts-"));
  const port = await freePort();
  const lines: string[] = [];
  let current = await spawnServer(folder, port, lines);
  return {
    url: `http://127.0.0.1:${port}`,
    lines,
    get process() {
      return current.child;
    },
    grab(label: string): string {
      const line = lines.find((l) => l.includes(label));
      if (line === undefined) throw new Error(`${label} not printed:\n${lines.join("\n")}`);
      return line.trim().split(/\s+/).pop() as string;
    },
    async stop(kill = false): Promise<void> {
      if (!current.exited()) current.child.kill(kill ? "SIGKILL" : "SIGINT");
      await current.ended;
      rmSync(folder, { recursive: true, force: true });
    },
    async restart(): Promise<void> {
      if (!current.exited()) current.child.kill("SIGKILL");
      await current.ended;
      current = await spawnServer(folder, port, lines);
    },
  };
}
