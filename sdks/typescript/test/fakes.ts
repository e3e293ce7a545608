/** The fake LLM providers (tests/fakes/providers.py) as a subprocess, `python -m
 * tests.fakes.serve`, started the way server.ts starts the PromptOps server; its test
 * controls over HTTP. It exits when its stdin closes, so it never outlives the tests. */

import { spawn } from "node:child_process";
import { join } from "node:path";

import { REPO } from "./support.js";

export interface FakeCall {
  name: string;
  arguments: Record<string, unknown> | string;
  id?: string;
}

export interface RecordedRequest {
  provider: string;
  path: string;
  body: any;
  status: number;
  stream: boolean;
}

export interface FakeProviders {
  url: string;
  reset(): Promise<void>;
  setReply(provider: string, text: string | null): Promise<void>;
  setToolCalls(provider: string, calls: FakeCall[] | null): Promise<void>;
  failNext(provider: string, status: number, body?: unknown): Promise<void>;
  requests(): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
}

export async function startFakeProviders(): Promise<FakeProviders> {
  const python = process.env["PROMPTOPS_PYTHON"] ?? "python3";
  const env = { ...process.env, PYTHONPATH: [join(REPO, "src"), REPO].join(":") };
  const child = spawn(python, ["-m", "tests.fakes.serve"], { cwd: REPO, env, stdio: ["pipe", "pipe", "pipe"] });
  const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fake providers did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const found = /fake providers listening on (http:\/\/\S+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1] as string);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the fake providers exited (${String(code)}):\n${output}`));
    });
  });
  const control = async (path: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${url}/_control/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  };
  return {
    url,
    reset: () => control("reset", {}),
    setReply: (provider, text) => control("reply", { provider, text }),
    setToolCalls: (provider, calls) => control("tool_calls", { provider, calls }),
    failNext: (provider, status, body) => control("fail", { provider, status, body }),
    requests: () => control("requests"),
    async stop(): Promise<void> {
      child.stdin.end();
      await ended;
    },
  };
}
