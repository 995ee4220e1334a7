// A token bucket: one limits every request to Vault (--vault.qps, --vault.burst), so the operator
// never asks Vault more often than it was told, whatever the number of definitions; another every
// request to the apiserver (--kube-api-qps, --kube-api-burst). When Vault requests wait, the
// first read of a path (and logins, mount lookups: everything that is not a refresh) goes before
// refreshes of paths already read, so a large start is not starved by paths it has already
// synced; within each class, first come, first served.
//
// The Vault limit adapts to Vault's health, like TCP's congestion window. Answers are judged a
// second at a time: when at least a tenth of a second's answers say Vault is overloaded (429, 502,
// 503, 504, no answer, or slower than two seconds), the rate is halved; a second with no such
// answer gives back a twentieth of --vault.qps, which is never exceeded. A struggling Vault sees
// the operator back off within about a second and a healthy one gets the full rate back within
// ten, while a few failing paths of one tenant cannot slow everyone down.

import type { Clock } from './clock.ts';

/** first: anything a definition is waiting for; refresh: a poll of a path already read. */
export type RequestPriority = 'first' | 'refresh';

/** The rate never drops below this share of --vault.qps, so every path is still read. */
const floorShare = 1 / 64;
const windowMs = 1_000;
const staleAfterMs = 10_000;

export class RateLimiter {
  readonly #clock: Clock;
  readonly #ceilingPerMs: number;
  #perMs: number;
  /** The answers of the second being judged. */
  #window = { start: Number.NEGATIVE_INFINITY, answers: 0, congested: 0 };
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

  /** Vault answered in a way that says it is overloaded. */
  congested(): void {
    this.#answered(true);
  }

  /** Vault answered, in time. */
  healthy(): void {
    this.#answered(false);
  }

  /** Counts an answer; the first answer after a second has passed judges that second. */
  #answered(congested: boolean): void {
    const now = this.#clock.monotonic();
    if (now - this.#window.start >= windowMs) {
      // A second that ended long ago (no answers since) says nothing about Vault now: dropped.
      if (now - this.#window.start < windowMs + staleAfterMs) this.#judge(this.#window);
      this.#window = { start: now, answers: 0, congested: 0 };
    }
    this.#window.answers += 1;
    if (congested) this.#window.congested += 1;
  }

  #judge({ answers, congested }: { answers: number; congested: number }): void {
    if (answers === 0) return;
    this.#refill(this.#clock.now());
    if (congested * 10 >= answers) {
      this.#perMs = Math.max(this.#ceilingPerMs * floorShare, this.#perMs / 2);
      // Whatever was saved up was saved at the old rate: a struggling Vault gets no burst.
      this.#tokens = Math.min(this.#tokens, 1);
    } else if (congested === 0) {
      this.#perMs = Math.min(this.#ceilingPerMs, this.#perMs + this.#ceilingPerMs / 20);
    }
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
