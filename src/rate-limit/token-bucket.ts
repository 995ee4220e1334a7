// A token bucket: tokens come at a rate (per second) up to a burst, and each request takes one.
// It has one consumer, the RateLimiter, which decides who gets the next token; the rate can be
// changed while it runs (AdaptiveRate does, for the backends).

import type { Clock } from '../clock.ts';

export class TokenBucket {
  readonly #clock: Clock;
  readonly #burst: number;
  #perMs: number;
  #tokens: number;
  #updatedAt: number;

  constructor(clock: Clock, perSecond: number, burst: number) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new Error('a rate limit needs qps > 0 and burst >= 1');
    this.#clock = clock;
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = clock.now();
  }

  /** Tokens per second now. */
  get perSecond(): number {
    return this.#perMs * 1000;
  }

  /** From now on tokens come at `perSecond`; what was saved until now was saved at the old rate. */
  setRate(perSecond: number): void {
    this.#refill();
    this.#perMs = perSecond / 1000;
  }

  /** Keeps at most `tokens` of what was saved up (no burst after a slow-down). */
  keepAtMost(tokens: number): void {
    this.#refill();
    this.#tokens = Math.min(this.#tokens, tokens);
  }

  /** Resolves when a token has been taken. For one consumer at a time. */
  async take(): Promise<void> {
    for (;;) {
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#clock.sleep((1 - this.#tokens) / this.#perMs);
    }
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#updatedAt) * this.#perMs);
    this.#updatedAt = now;
  }
}
