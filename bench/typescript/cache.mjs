// The TypeScript SDK's cache benchmark (run by `python -m bench.typescript`, which starts the
// servers and passes them in the environment): a cached `getPrompt` against the floor (a
// bare Map.get plus a clock check) and against @langfuse/client's cached `prompt.get`,
// timed in alternation within each round; then uncached fetches with fresh clients (the
// wrapper counts the requests the servers received). Prints one JSON object.
import { fileURLToPath } from "node:url";

const PACKAGE = fileURLToPath(new URL("../../sdks/typescript/", import.meta.url));
const { PromptOps } = await import(`${PACKAGE}dist/esm/index.js`);
const { LangfuseClient } = await import(`${PACKAGE}node_modules/@langfuse/client/dist/index.mjs`);

const env = process.env;
const SLUG = env.BENCH_SLUG ?? "greeting";
const ROUNDS = Number(env.BENCH_ROUNDS ?? 7);
const NUMBER = Number(env.BENCH_NUMBER ?? 200000);
const UNCACHED = Number(env.BENCH_UNCACHED ?? 20);
const clock = () => performance.now();

const po = new PromptOps({ apiKey: env.PROMPTOPS_API_KEY, baseUrl: env.PROMPTOPS_BASE_URL });
// A given clock: each hit reads it, as on runtimes other than Node (entries not timed).
const clocked = new PromptOps({ apiKey: env.PROMPTOPS_API_KEY, baseUrl: env.PROMPTOPS_BASE_URL, clock });
const langfuse = new LangfuseClient({ publicKey: "pk-lf-bench", secretKey: "sk-lf-bench", baseUrl: env.LANGFUSE_BASE_URL });
const lfOptions = { cacheTtlSeconds: 60 };

// The floor: what any in-memory cache must do at least (one Map.get, one clock reading,
// one comparison), as a sync call and as an awaited async one (getPrompt returns a promise).
const map = new Map([[`${SLUG}\u0000`, { prompt: {}, expires: clock() + 60000 }]]);
function floor(slug) {
  const entry = map.get(`${slug}\u0000`);
  if (entry !== undefined && entry.expires > clock()) return entry.prompt;
  throw new Error("expired");
}
async function asyncFloor(slug) {
  return floor(slug);
}
// What awaiting any promise costs (a settled one, made once): no promise-returning
// getPrompt can be cheaper.
const settled = Promise.resolve({});
const awaitOnly = () => settled;

async function nsPer(fn, number) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < number; i++) await fn(SLUG);
  return Number(process.hrtime.bigint() - t0) / number;
}
function nsPerSync(fn, number) {
  const t0 = process.hrtime.bigint();
  let sink;
  for (let i = 0; i < number; i++) sink = fn(SLUG);
  if (sink === undefined) throw new Error("nothing");
  return Number(process.hrtime.bigint() - t0) / number;
}

// subscribe: true, the stream keeping the cache current: entries do not expire, so a hit
// reads no clock.
const live = new PromptOps({ apiKey: env.PROMPTOPS_API_KEY, baseUrl: env.PROMPTOPS_BASE_URL, subscribe: true });
if (!(await live.waitUntilSubscribed())) throw new Error("the stream did not connect");

// Fill the caches (one request each).
await po.getPrompt(SLUG);
await clocked.getPrompt(SLUG);
await live.getPrompt(SLUG);
await langfuse.prompt.get(SLUG, lfOptions);

const rounds = { floor: [], asyncFloor: [], awaitOnly: [], promptops: [], clocked: [], subscribed: [], langfuse: [] };
const contenders = {
  floor: () => nsPerSync(floor, NUMBER),
  asyncFloor: () => nsPer(asyncFloor, NUMBER),
  awaitOnly: () => nsPer(awaitOnly, NUMBER),
  promptops: () => nsPer((slug) => po.getPrompt(slug), NUMBER),
  clocked: () => nsPer((slug) => clocked.getPrompt(slug), NUMBER),
  subscribed: () => nsPer((slug) => live.getPrompt(slug), NUMBER),
  langfuse: () => nsPer((slug) => langfuse.prompt.get(slug, lfOptions), NUMBER),
};
for (const fn of Object.values(contenders)) await fn(); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(contenders)) rounds[name].push(await fn());
}

// Uncached: a fresh client each time, one getPrompt.
const uncached = [];
for (let i = 0; i < UNCACHED; i++) {
  const fresh = new PromptOps({ apiKey: env.PROMPTOPS_API_KEY, baseUrl: env.PROMPTOPS_BASE_URL });
  const t0 = process.hrtime.bigint();
  await fresh.getPrompt(SLUG);
  uncached.push(Number(process.hrtime.bigint() - t0));
}
const lfUncached = [];
for (let i = 0; i < UNCACHED; i++) {
  const fresh = new LangfuseClient({ publicKey: "pk-lf-bench", secretKey: "sk-lf-bench", baseUrl: env.LANGFUSE_BASE_URL });
  const t0 = process.hrtime.bigint();
  await fresh.prompt.get(SLUG, lfOptions);
  lfUncached.push(Number(process.hrtime.bigint() - t0));
}

await live.close();
process.stdout.write(JSON.stringify({
  node: process.version,
  rounds,
  uncachedNs: uncached,
  langfuseUncachedNs: lfUncached,
  promptopsFetches: 3 + UNCACHED,
  langfuseFetches: 1 + UNCACHED,
}) + "\n");
