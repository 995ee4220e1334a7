// A token bucket: one limits every request to Vault (--vault.qps, --vault.burst), so the operator
// never asks Vault more often than it was told, whatever the number of definitions; another every
// request to the apiserver (--kube-api-qps, --kube-api-burst). When Vault requests wait, the
// first read of a path (and logins, mount lookups: everything that is not a refresh) goes before
// refreshes of paths already read, so a large start is not starved by paths it has already
// synced; within each class, first come, first served.
//
// The Vault limit adapts to Vault's health, like TCP's congestion window: an answer that says Vault is
// overloaded (429, any 5xx, no answer, or an answer slower than two seconds) halves the rate, at
// most once a second; every second of healthy answers gives back a twentieth of --vault.qps,
// which is never exceeded. A struggling Vault therefore sees the operator back off within a
// second, and a healthy one gets the full rate back within ten.

import type { Clock } from './clock.ts';

/** first: anything a definition is waiting for; refresh: a poll of a path already read. */
export type RequestPriority = 'first' | 'refresh';

/** The rate never drops below this share of --vault.qps, so every path is still read. */
const floorShare = 1 / 64;
const adjustEveryMs = 1_000;

export class RateLimiter {
  readonly #clock: Clock;
  readonly #ceilingPerMs: number;
  #perMs: number;
  #adjustedAt = Number.NEGATIVE_INFINITY;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;
  readonly #waiting: Record<RequestPriority, (() => void)[]> = { first: [], refresh: [] };
  #pumping = false;

  constructor(clock: Clock, qps: number, burst: number) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error('a rate limit needs qps > 0 and burst >= 1');
    this.#clock = clock;
    this.#ceilingPerMs = qps / 1000;
    this.#perMs = this.#ceilingPerMs;
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

  /** Requests per second allowed now: --vault.qps, or less while Vault is struggling. */
  get qps(): number {
    return this.#perMs * 1000;
  }

  /** Vault answered in a way that says it is overloaded: halve the rate (once a second at most). */
  congested(): void {
    const now = this.#clock.monotonic();
    if (now - this.#adjustedAt < adjustEveryMs) return;
    this.#adjustedAt = now;
    this.#refill(this.#clock.now());
    this.#perMs = Math.max(this.#ceilingPerMs * floorShare, this.#perMs / 2);
    // Whatever was saved up was saved at the old rate: a struggling Vault gets no burst.
    this.#tokens = Math.min(this.#tokens, 1);
  }

  /** Vault answered in time: give back a twentieth of the full rate (once a second at most). */
  healthy(): void {
    if (this.#perMs >= this.#ceilingPerMs) return;
    const now = this.#clock.monotonic();
    if (now - this.#adjustedAt < adjustEveryMs) return;
    this.#adjustedAt = now;
    this.#refill(this.#clock.now());
    this.#perMs = Math.min(this.#ceilingPerMs, this.#perMs + this.#ceilingPerMs / 20);
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
      this.#refill(this.#clock.now());
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#clock.sleep((1 - this.#tokens) / this.#perMs);
    }
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#updatedAt) * this.#perMs);
    this.#updatedAt = now;
  }
}
