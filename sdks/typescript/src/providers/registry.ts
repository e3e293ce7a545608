/** The three provider adapters, one instance each (they are stateless). */

import { ConfigurationError } from "../errors.js";
import { AnthropicProvider } from "./anthropic.js";
import { PROVIDERS, type Provider, type ProviderName } from "./base.js";
import { GeminiProvider } from "./gemini.js";
import { OpenAIProvider } from "./openai.js";

const ADAPTERS: Record<ProviderName, Provider> = {
  openai: new OpenAIProvider(),
  anthropic: new AnthropicProvider(),
  gemini: new GeminiProvider(),
};

export function getProvider(name: string): Provider {
  const adapter = (ADAPTERS as Record<string, Provider | undefined>)[name];
  if (adapter === undefined || !Object.hasOwn(ADAPTERS, name)) {
    throw new ConfigurationError(`unknown provider ${JSON.stringify(name)}; expected one of: ${PROVIDERS.join(", ")}`);
  }
  return adapter;
}
