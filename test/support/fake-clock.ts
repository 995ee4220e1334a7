// A clock for unit tests: time moves only when the test says so. Timers run on the monotonic
// reading; `stepWallClock` moves only the wall clock, as NTP or an operator would.

import type { Clock, Timer } from '../../src/clock.ts';

interface Pending {
  at: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  #elapsed = 0;
  #wall: number;
  #timers: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#wall = start;
  }

  now(): number {
    return this.#wall + this.#elapsed;
  }

  monotonic(): number {
    return this.#elapsed;
  }

  /** Moves the wall clock by `ms` (negative: back) without any time passing or timer firing. */
  stepWallClock(ms: number): void {
    this.#wall += ms;
  }

  after(ms: number, fn: () => void): Timer {
    const pending: Pending = { at: this.#elapsed + Math.max(0, ms), fn, cancelled: false };
    this.#timers.push(pending);
    return { cancel: () => (pending.cancelled = true) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.after(ms, resolve);
      signal?.addEventListener('abort', () => {
        timer.cancel();
        resolve();
      });
    });
  }

  /** Timers still waiting to fire. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward, firing due timers in order and letting the promises they start settle. */
  async advance(ms: number): Promise<void> {
    const end = this.#elapsed + ms;
    for (;;) {
      await flush();
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#elapsed = Math.max(this.#elapsed, due.at);
      due.fn();
    }
    this.#elapsed = end;
    await flush();
  }
}

/** Lets every promise chain that can settle now do so. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
