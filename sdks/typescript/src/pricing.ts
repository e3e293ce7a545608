/**
 * Per-model prices (USD per one million tokens, input and output), for the estimated cost of
 * each logged call: the Python SDK's table and lookups (`promptops.sdk.pricing`; the
 * contract fixture `fixtures/logs/records.json` holds both to the same figures).
 *
 * A model name is looked up as given, then without a `models/` prefix and without a date or
 * revision suffix (`gpt-4o-2024-08-06` → `gpt-4o`, `claude-3-5-haiku-20241022` →
 * `claude-3-5-haiku`, `gemini-1.5-flash-002` → `gemini-1.5-flash`, `…-latest`). A model the
 * table does not know gets a null cost, never a guess. `prices` given to the client extend
 * or replace entries (`null` removes one).
 */

import { ConfigurationError } from "./errors.js";

export type ModelPrice = readonly [input: number, output: number];
export type Prices = Readonly<Record<string, ModelPrice | { input: number; output: number } | null>>;

export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  // OpenAI
  "gpt-5": [1.25, 10.0],
  "gpt-5-mini": [0.25, 2.0],
  "gpt-5-nano": [0.05, 0.4],
  "gpt-4.1": [2.0, 8.0],
  "gpt-4.1-mini": [0.4, 1.6],
  "gpt-4.1-nano": [0.1, 0.4],
  "gpt-4o": [2.5, 10.0],
  "gpt-4o-mini": [0.15, 0.6],
  "gpt-4-turbo": [10.0, 30.0],
  "gpt-4": [30.0, 60.0],
  "gpt-3.5-turbo": [0.5, 1.5],
  "o1": [15.0, 60.0],
  "o1-mini": [1.1, 4.4],
  "o3": [2.0, 8.0],
  "o3-mini": [1.1, 4.4],
  "o4-mini": [1.1, 4.4],
  // Anthropic
  "claude-opus-4-1": [15.0, 75.0],
  "claude-opus-4": [15.0, 75.0],
  "claude-opus-4-0": [15.0, 75.0],
  "claude-sonnet-4-5": [3.0, 15.0],
  "claude-sonnet-4": [3.0, 15.0],
  "claude-sonnet-4-0": [3.0, 15.0],
  "claude-haiku-4-5": [1.0, 5.0],
  "claude-3-7-sonnet": [3.0, 15.0],
  "claude-3-5-sonnet": [3.0, 15.0],
  "claude-3-5-haiku": [0.8, 4.0],
  "claude-3-opus": [15.0, 75.0],
  "claude-3-haiku": [0.25, 1.25],
  // Google Gemini (prompts up to 200k tokens where the price depends on length)
  "gemini-2.5-pro": [1.25, 10.0],
  "gemini-2.5-flash": [0.3, 2.5],
  "gemini-2.5-flash-lite": [0.1, 0.4],
  "gemini-2.0-flash": [0.1, 0.4],
  "gemini-2.0-flash-lite": [0.075, 0.3],
  "gemini-1.5-pro": [1.25, 5.0],
  "gemini-1.5-flash": [0.075, 0.3],
};

const SUFFIX = /(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3,4}|-latest)$/;

export class PriceTable {
  readonly #prices = new Map<string, ModelPrice>();
  readonly #resolved = new Map<string, ModelPrice | null>();

  constructor(prices?: Prices) {
    for (const [model, price] of Object.entries(DEFAULT_PRICES)) this.#prices.set(model, price);
    if (prices === undefined) return;
    if (typeof prices !== "object" || prices === null || Array.isArray(prices)) {
      throw new ConfigurationError("prices must be an object of model → [input, output] (USD per 1M tokens)");
    }
    for (const [model, value] of Object.entries(prices)) {
      if (!model) throw new ConfigurationError("prices: model names must be non-empty strings");
      if (value === null) {
        this.#prices.delete(model);
        continue;
      }
      const pair = Array.isArray(value) ? value : [(value as { input: unknown }).input, (value as { output: unknown }).output];
      if (pair.length !== 2 || !pair.every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0)) {
        throw new ConfigurationError(
          `prices[${JSON.stringify(model)}]: expected {input, output} or [input, output] in USD per 1M tokens (numbers >= 0), got ${JSON.stringify(value)}`,
        );
      }
      this.#prices.set(model, [pair[0] as number, pair[1] as number]);
    }
  }

  /** The price of `model` (with the lookups above), or null. */
  price(model: string): ModelPrice | null {
    const known = this.#resolved.get(model);
    if (known !== undefined) return known;
    let found = this.#prices.get(model);
    if (found === undefined) {
      const name = model.startsWith("models/") ? model.slice(7) : model;
      found = this.#prices.get(name);
      if (found === undefined) {
        const stripped = name.replace(SUFFIX, "");
        if (stripped !== name) found = this.#prices.get(stripped);
      }
    }
    if (this.#resolved.size < 10_000) this.#resolved.set(model, found ?? null);
    return found ?? null;
  }

  /** Estimated USD cost of one call; null when the model or the usage is unknown. */
  cost(model: string | null | undefined, inputTokens: number | null, outputTokens: number | null): number | null {
    if (!model) return null;
    const price = this.price(model);
    if (price === null || (inputTokens === null && outputTokens === null)) return null;
    const total = (inputTokens ?? 0) * price[0] + (outputTokens ?? 0) * price[1];
    return Number((total / 1_000_000).toFixed(10)); // Python's round(x, 10)
  }
}
