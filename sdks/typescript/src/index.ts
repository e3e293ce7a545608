/**
 * The `promptops` package: the PromptOps SDK for Node 20+ and runtimes with only `fetch`
 * and Web Crypto (Deno, Bun, Workers, edge). Its public API, stated once.
 */

export { PromptOps, DEFAULT_BASE_URL, DEFAULT_CACHE_TTL_MS, DEFAULT_TIMEOUT_MS } from "./client.js";
export type { GetPromptOptions, PromptOpsOptions } from "./client.js";
export { Prompt } from "./prompt.js";
export type { Fallback, PromptPayload, PromptRenderOptions, Rendered } from "./prompt.js";
export type { ChatMessage, InputDecl, InputType } from "./content.js";
export { Template, compileTemplate, formatValue, render, variables } from "./template/index.js";
export type { Partial, RenderOptions } from "./template/index.js";
export { verifyWebhook, sign as signWebhook, DEFAULT_TOLERANCE_SECONDS, SECRET_PREFIX } from "./webhooks.js";
export type { VerifyOptions, WebhookHeaders } from "./webhooks.js";
export { RunResult, RunStream } from "./run.js";
export type { RunOptions, Usage } from "./run.js";
export type { ToolCall } from "./providers/spec.js";
export type { ProviderName } from "./providers/base.js";
export type { LogStats } from "./logs/sender.js";
export type { LogOptions } from "./logs/options.js";
export { DEFAULT_PRICES, PriceTable } from "./pricing.js";
export type { ModelPrice, Prices } from "./pricing.js";
export { uuid7 } from "./ids.js";
export { WebhookReceiver } from "./receivers/handler.js";
export type { NodeRequest, NodeResponse, Reply, WebhookReceiverOptions } from "./receivers/handler.js";
export { MemoryCache } from "./receivers/cache.js";
export type { CacheKey, SharedCache } from "./receivers/cache.js";
export { RedisCache } from "./receivers/redis.js";
export type { RedisCacheOptions, RedisCommands } from "./receivers/redis.js";
export { SseParser } from "./sse.js";
export type { SseEvent } from "./sse.js";
export * from "./errors.js";
export type * as wire from "./wire.js";
