/**
 * When the server is unavailable, how long to leave it alone (the Python SDK's rule): one per
 * client, since a dead server is dead for every prompt. After the n-th consecutive failure
 * the wait is drawn uniformly from [0, min(cap, first * 2^n)] ("full jitter"), so processes
 * that lost the server together do not come back together.
 */
export class Backoff {
  readonly firstMs: number;
  readonly capMs: number;
  failures = 0;
  until = -Infinity;
  cause: unknown = undefined;
  readonly #random: () => number;

  constructor(firstMs = 1000, capMs = 60_000, random: () => number = Math.random) {
    this.firstMs = firstMs;
    this.capMs = Math.max(capMs, firstMs);
    this.#random = random;
  }

  active(now: number): boolean {
    return now < this.until;
  }

  /** Record a failure at `now`; the end of the wait. */
  failed(now: number, cause: unknown): number {
    const ceiling = Math.min(this.capMs, this.firstMs * 2 ** Math.min(this.failures, 64));
    this.failures += 1;
    this.cause = cause;
    this.until = now + ceiling * this.#random();
    return this.until;
  }

  /** Record a success; true if it ended a run of failures. */
  succeeded(): boolean {
    const ended = this.failures > 0;
    this.failures = 0;
    this.until = -Infinity;
    this.cause = undefined;
    return ended;
  }
}
