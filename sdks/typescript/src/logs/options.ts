/** The request-log options of the client, checked. */

import { ConfigurationError } from "../errors.js";
import type { LogSettings } from "./sender.js";

export interface LogOptions {
  /** Records waiting in memory, at most (default 10000; past it the oldest are dropped). */
  logQueueSize?: number;
  /** Records per POST /v1/logs, at most (default 100, at most 1000). */
  logBatchSize?: number;
  /** How often the sender looks for records (default 1000 ms). */
  logFlushIntervalMs?: number;
  /** About how many bytes of records may wait in memory (default 64 MiB). */
  logMaxBytes?: number;
}

export function logSettings(options: LogOptions): LogSettings {
  const settings: LogSettings = {
    queueSize: options.logQueueSize ?? 10_000,
    batchSize: options.logBatchSize ?? 100,
    flushIntervalMs: options.logFlushIntervalMs ?? 1_000,
    maxBytes: options.logMaxBytes ?? 64 * 1024 * 1024,
  };
  for (const [name, value] of [["logQueueSize", settings.queueSize], ["logBatchSize", settings.batchSize], ["logMaxBytes", settings.maxBytes]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigurationError(`${name} must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  if (settings.batchSize > 1000) throw new ConfigurationError(`logBatchSize must be <= 1000, got ${settings.batchSize}`);
  if (!(settings.flushIntervalMs > 0) || !Number.isFinite(settings.flushIntervalMs)) {
    throw new ConfigurationError(`logFlushIntervalMs must be a number of ms > 0, got ${JSON.stringify(options.logFlushIntervalMs)}`);
  }
  return settings;
}
