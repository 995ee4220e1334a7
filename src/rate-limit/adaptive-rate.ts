// A backend's rate limit adapts to the backend's health, like TCP's congestion window. Answers
// are judged a second at a time: when at least a tenth of a second's answers say the backend is
// overloaded (429, 502, 503, 504, no answer, or slower than two seconds), the rate is halved; a
// second with no such answer gives back a twentieth of the configured rate (--vault.qps,
// --azure-kv.qps), which is never exceeded. A struggling Vault sees the operator back off within
// about a second and a healthy one gets the full rate back within ten, while a few failing paths
// of one tenant cannot slow everyone down. The apiserver's limit does not adapt: API Priority and
// Fairness answers 429 with a Retry-After, which its HTTP library honours.

import type { Clock } from '../clock.ts';
import type { TokenBucket } from './token-bucket.ts';

/** The rate never drops below this share of the configured rate, so every path is still read. */
const floorShare = 1 / 64;
const windowMs = 1_000;
const staleAfterMs = 10_000;

export class AdaptiveRate {
  readonly #clock: Clock;
  readonly #bucket: TokenBucket;
  readonly #ceiling: number;
  /** The answers of the second being judged. */
  #window = { start: Number.NEGATIVE_INFINITY, answers: 0, congested: 0 };

  /** Adapts `bucket`'s rate, never above the rate it has now. */
  constructor(clock: Clock, bucket: TokenBucket) {
    this.#clock = clock;
    this.#bucket = bucket;
    this.#ceiling = bucket.perSecond;
  }

  /** The backend answered in a way that says it is overloaded. */
  congested(): void {
    this.#answered(true);
  }

  /** The backend answered, in time. */
  healthy(): void {
    this.#answered(false);
  }

  /** Counts an answer; the first answer after a second has passed judges that second. */
  #answered(congested: boolean): void {
    const now = this.#clock.monotonic();
    if (now - this.#window.start >= windowMs) {
      // A second that ended long ago (no answers since) says nothing about the backend now: dropped.
      if (now - this.#window.start < windowMs + staleAfterMs) this.#judge(this.#window);
      this.#window = { start: now, answers: 0, congested: 0 };
    }
    this.#window.answers += 1;
    if (congested) this.#window.congested += 1;
  }

  #judge({ answers, congested }: { answers: number; congested: number }): void {
    if (answers === 0) return;
    const rate = this.#bucket.perSecond;
    if (congested * 10 >= answers) {
      this.#bucket.setRate(Math.max(this.#ceiling * floorShare, rate / 2));
      // Whatever was saved up was saved at the old rate: a struggling backend gets no burst.
      this.#bucket.keepAtMost(1);
    } else if (congested === 0) {
      this.#bucket.setRate(Math.min(this.#ceiling, rate + this.#ceiling / 20));
    }
  }
}
