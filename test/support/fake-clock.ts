// A clock for unit tests: time moves only when the test says so. Timers run on the monotonic
// reading; `stepWallClock` moves only the wall clock, as NTP or an operator would.

import { createHook } from 'node:async_hooks';
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

  /** Moves time by `ms` with no timer firing, as a frozen process (SIGSTOP) finds it on waking. */
  freeze(ms: number): void {
    this.#elapsed += ms;
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

/** Async work started or resumed, as async_hooks see it: promises, immediates, I/O callbacks. */
let activity = 0;
const hook = createHook({
  init: () => void (activity += 1),
  before: () => void (activity += 1),
});

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One turn of the event loop: how a fake answers "not at once". A fake must not call flush:
 * a flush waits for everything, the fake's own caller included.
 */
export const nextTurn = turn;

/** What one turn of flush's own costs when nothing else runs, measured once, before any test. */
async function quietTurn(): Promise<number> {
  hook.enable();
  try {
    let least = Infinity;
    for (let i = 0; i < 5; i += 1) {
      const before = activity;
      await turn();
      least = Math.min(least, activity - before);
    }
    return least;
  } finally {
    hook.disable();
  }
}
const quiet = await quietTurn();

/** The flush in progress: callers at the same time share it, or each would keep the other busy. */
let running: Promise<void> | undefined;

/**
 * Lets every promise chain that can settle now do so: turns of the event loop until two in a row
 * ran nothing but flush itself, so "nothing happened" after it means nothing could. Work that
 * never settles (a loop of immediates) is an error, not a wait.
 */
export function flush(): Promise<void> {
  running ??= untilQuiet().finally(() => (running = undefined));
  return running;
}

async function untilQuiet(): Promise<void> {
  hook.enable();
  try {
    let quietTurns = 0;
    for (let i = 0; i < 10_000; i += 1) {
      const before = activity;
      await turn();
      quietTurns = activity - before <= quiet ? quietTurns + 1 : 0;
      if (quietTurns === 2) return;
    }
    throw new Error('flush: something keeps running on every turn of the event loop');
  } finally {
    hook.disable();
  }
}
