// A token bucket for every request to Vault (--vault.qps, --vault.burst): the operator never asks
// Vault more often than it was told, whatever the number of definitions. When requests wait, the
// first read of a path (and logins, mount lookups: everything that is not a refresh) goes before
// refreshes of paths already read, so a large start is not starved by paths it has already
// synced; within each class, first come, first served.

import type { Clock } from '../clock.ts';

/** first: anything a definition is waiting for; refresh: a poll of a path already read. */
export type RequestPriority = 'first' | 'refresh';

export class RateLimiter {
  readonly #clock: Clock;
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;
  readonly #waiting: Record<RequestPriority, (() => void)[]> = { first: [], refresh: [] };
  #pumping = false;

  constructor(clock: Clock, qps: number, burst: number) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error('the Vault rate limit needs qps > 0 and burst >= 1');
    this.#clock = clock;
    this.#perMs = qps / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = clock.now();
  }

  /** Resolves when one request may go. */
  take(priority: RequestPriority = 'first'): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting[priority].push(resolve);
      if (!this.#pumping) void this.#pump();
    });
  }

  /** Hands out tokens as they come, first reads before refreshes, until nobody waits. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#waiting.first.length > 0 || this.#waiting.refresh.length > 0) {
        await this.#token();
        // Chosen when the token is there, so a first read that arrived meanwhile goes first.
        const next = this.#waiting.first.shift() ?? this.#waiting.refresh.shift();
        next?.();
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #token(): Promise<void> {
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
