// A token bucket for every request to Vault (--vault.qps, --vault.burst): the operator never asks
// Vault more often than it was told, whatever the number of definitions.

import type { Clock } from '../clock.ts';

export class RateLimiter {
  readonly #clock: Clock;
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;
  /** Waiters in arrival order, so nobody starves. */
  #queue: Promise<void> = Promise.resolve();

  constructor(clock: Clock, qps: number, burst: number) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error('the Vault rate limit needs qps > 0 and burst >= 1');
    this.#clock = clock;
    this.#perMs = qps / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = clock.now();
  }

  /** Resolves when one request may go; callers are served first come, first served. */
  take(): Promise<void> {
    const turn = this.#queue.then(() => this.#wait());
    this.#queue = turn;
    return turn;
  }

  async #wait(): Promise<void> {
    for (;;) {
      const now = this.#clock.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#perMs);
      this.#updatedAt = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#clock.sleep((1 - this.#tokens) / this.#perMs);
    }
  }
}
