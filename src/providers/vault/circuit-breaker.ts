// When Vault stops answering, the breaker opens: requests fail at once with the last error instead
// of piling up timeouts, and one probe at a time is let through after a backoff to see whether
// Vault is back. Only failures to get an answer count; an HTTP error is an answer.
//
// The backoff grows with each failed probe, not with each failed request: a hundred reads cut at
// once by one partition are one failure of Vault, not a hundred, and must not hold the breaker
// open for the longest backoff after Vault is back. It is capped at a few seconds: a probe is one
// request, and Vault back is noticed within that long. When the breaker closes, `closed` is told,
// so that what failed while it was open is tried again at once instead of waiting out its backoff.

import { backoff, type Clock, type Random } from '../../clock.ts';
import type { ProviderError } from '../errors.ts';

/** The longest the breaker stays open between two probes. */
export const maxOpenMs = 5_000;

export interface CircuitBreakerOptions {
  /** Failures in a row that open the breaker. */
  readonly threshold?: number;
  /** Vault answered again after the breaker was open. */
  readonly closed?: () => void;
}

export class CircuitBreaker {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #threshold: number;
  readonly #closed: (() => void) | undefined;
  #consecutiveFailures = 0;
  /** Probes that failed since the breaker opened. */
  #failedProbes = 0;
  #openUntil = 0;
  #lastError: ProviderError | undefined;
  #probing = false;

  constructor(clock: Clock, random: Random, options: CircuitBreakerOptions = {}) {
    this.#clock = clock;
    this.#random = random;
    this.#threshold = options.threshold ?? 3;
    this.#closed = options.closed;
  }

  get open(): boolean {
    return this.#consecutiveFailures >= this.#threshold;
  }

  /**
   * Throws the last error while the breaker is open and this caller is not the probe. Returns
   * whether this caller is the probe: it must end in `succeeded`, `failed` or `abandoned`.
   */
  admit(): boolean {
    if (!this.open || !this.#lastError) return false;
    if (this.#clock.now() >= this.#openUntil && !this.#probing) {
      this.#probing = true;
      return true;
    }
    throw this.#lastError;
  }

  /** The probe was called off before Vault said anything: the next caller may probe. */
  abandoned(): void {
    this.#probing = false;
  }

  succeeded(): void {
    const wasOpen = this.open;
    this.#consecutiveFailures = 0;
    this.#failedProbes = 0;
    this.#probing = false;
    this.#lastError = undefined;
    if (wasOpen) this.#closed?.();
  }

  /** A request got no answer; `probe` says whether it was the one `admit` let through. */
  failed(error: ProviderError, probe = false): void {
    const wasOpen = this.open;
    this.#consecutiveFailures += 1;
    this.#lastError = error;
    if (probe) {
      this.#probing = false;
      this.#failedProbes += 1;
    }
    // Opened now, or its probe failed: closed to all but the next probe for one more backoff step.
    // A request sent before it opened that fails now says nothing new and moves nothing.
    if (this.open && (!wasOpen || probe)) {
      this.#openUntil = this.#clock.now() + backoff(this.#failedProbes + 1, 1_000, maxOpenMs, this.#random);
    }
  }
}
