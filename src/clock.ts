// Time and randomness, passed in so that tests control them.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch, as the wall clock says; it can step back or forward. */
  now(): number;
  /**
   * Milliseconds since an arbitrary origin, never stepped by NTP or an operator: the reading to
   * measure elapsed time with.
   */
  monotonic(): number;
  /** Runs `fn` once after `ms`; the timer never keeps the process alive on its own. */
  after(ms: number, fn: () => void): Timer;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The longest delay setTimeout takes (about 24.8 days); a longer one would fire at once. */
const maxTimerMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  after(ms, fn) {
    let handle: NodeJS.Timeout;
    const arm = (left: number): void => {
      const step = Math.min(Math.max(0, left), maxTimerMs);
      handle = setTimeout(() => (left > maxTimerMs ? arm(left - maxTimerMs) : fn()), step);
      handle.unref();
    };
    arm(ms);
    return { cancel: () => clearTimeout(handle) };
  },
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const handle = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(handle);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

/** A random number in [0, 1). */
export type Random = () => number;

/** `ms` spread by up to ±`fraction`, so that many timers started together do not fire together. */
export function jitter(ms: number, fraction: number, random: Random): number {
  return ms * (1 - fraction + 2 * fraction * random());
}

/** Capped exponential backoff with full jitter in its upper half: attempt 1 -> ~base. */
export function backoff(attempt: number, baseMs: number, capMs: number, random: Random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}
