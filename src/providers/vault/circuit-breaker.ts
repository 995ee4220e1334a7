// When Vault stops answering, the breaker opens: requests fail at once with the last error instead
// of piling up timeouts, and one probe at a time is let through after a backoff to see whether
// Vault is back. Only failures to get an answer count; an HTTP error is an answer.

import { backoff, type Clock, type Random } from '../../clock.ts';
import type { ProviderError } from '../errors.ts';

export class CircuitBreaker {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #threshold: number;
  #consecutiveFailures = 0;
  #openUntil = 0;
  #lastError: ProviderError | undefined;
  #probing = false;

  constructor(clock: Clock, random: Random, threshold = 3) {
    this.#clock = clock;
    this.#random = random;
    this.#threshold = threshold;
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
    this.#consecutiveFailures = 0;
    this.#probing = false;
    this.#lastError = undefined;
  }

  failed(error: ProviderError): void {
    this.#consecutiveFailures += 1;
    this.#probing = false;
    this.#lastError = error;
    if (this.open) {
      this.#openUntil =
        this.#clock.now() +
        backoff(this.#consecutiveFailures - this.#threshold + 1, 1_000, 30_000, this.#random);
    }
  }
}
