// A rate limit that decides who goes next: every request to Vault (--vault.qps, --vault.burst),
// to Azure Key Vault (--azure-kv.qps) or to the apiserver (--kube-api-qps) takes a token of its
// bucket here, so the operator never asks more often than it was told, whatever the number of
// definitions. When requests wait, the first read of a path (and logins, mount lookups:
// everything that is not a refresh) goes before refreshes of paths already read, so a large start
// is not starved by paths it has already synced; within each class, first come, first served.

import type { Clock } from '../clock.ts';
import { TokenBucket } from './token-bucket.ts';

/**
 * first: anything a definition is waiting for; refresh: a poll of a path already read. At the
 * apiserver: first for Secrets and everything else, refresh for status patches and Events.
 */
export type RequestPriority = 'first' | 'refresh';

export class RateLimiter {
  readonly bucket: TokenBucket;
  readonly #waiting: Record<RequestPriority, (() => void)[]> = { first: [], refresh: [] };
  #pumping = false;

  constructor(clock: Clock, qps: number, burst: number) {
    this.bucket = new TokenBucket(clock, qps, burst);
  }

  /** Resolves when one request may go. */
  take(priority: RequestPriority = 'first'): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting[priority].push(resolve);
      if (!this.#pumping) void this.#pump();
    });
  }

  /** Requests per second allowed now. */
  get qps(): number {
    return this.bucket.perSecond;
  }

  /** Hands out tokens as they come, first reads before refreshes, until nobody waits. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#waiting.first.length > 0 || this.#waiting.refresh.length > 0) {
        await this.bucket.take();
        // Chosen when the token is there, so a first read that arrived meanwhile goes first.
        const next = this.#waiting.first.shift() ?? this.#waiting.refresh.shift();
        next?.();
      }
    } finally {
      this.#pumping = false;
    }
  }
}
