// A work queue with client-go's guarantees:
// - a key waits in the queue at most once, however often it is added (dedup);
// - a key is handed to one worker at a time; added again while being worked on, it is queued
//   again when that worker calls `done`;
// - `addAfter` delays an add; `addRateLimited` delays it by the key's own capped exponential
//   backoff, which `forget` resets.
// An observer sees what client-go's queue metrics see: adds, retries, and how long each key
// waited and was worked on; `waiting` and `inProgressMs` are read when metrics are scraped.

import { backoff, type Clock, type Random, type Timer } from '../clock.ts';
import type { QueueObserver } from '../observability/runtime-metrics.ts';

export interface QueueOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly observer?: QueueObserver;
}

export class WorkQueue {
  readonly #options: QueueOptions;
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: Timer }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  /** Monotonic times: when each waiting key was added, when each key in progress was taken. */
  readonly #addedAt = new Map<string, number>();
  readonly #startedAt = new Map<string, number>();
  #shuttingDown = false;

  constructor(options: QueueOptions) {
    this.#options = options;
  }

  /** Keys waiting to be worked on (not counting delayed or in-progress ones). */
  get depth(): number {
    return this.#queue.length;
  }

  /** Keys waiting to be worked on, including those held back until their run in progress ends. */
  get waiting(): number {
    return this.#dirty.size;
  }

  /** How long each key in progress has been worked on so far. */
  inProgressMs(): number[] {
    const now = this.#options.clock.monotonic();
    return [...this.#startedAt.values()].map((started) => now - started);
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#options.observer?.added();
    this.#addedAt.set(key, this.#options.clock.monotonic());
    if (!this.#processing.has(key)) this.#enqueue(key);
  }

  /** Adds `key` after `ms`; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    this.#options.observer?.retried();
    if (ms <= 0) return this.add(key);
    const at = this.#options.clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.#options.clock.after(ms, () => {
      this.#delayed.delete(key);
      this.add(key);
    });
    this.#delayed.set(key, { at, timer });
  }

  /** Adds `key` after its next backoff step; returns the delay chosen. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = backoff(
      failures,
      this.#options.baseDelayMs,
      this.#options.maxDelayMs,
      this.#options.random,
    );
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its backoff starts over. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to work on; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#take(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    const started = this.#startedAt.get(key);
    if (started !== undefined) {
      this.#startedAt.delete(key);
      this.#options.observer?.finished(this.#options.clock.monotonic() - started);
    }
    this.#processing.delete(key);
    // Added while in progress: it has waited (and was counted) since then; its turn is now.
    if (this.#dirty.has(key)) this.#enqueue(key);
  }

  /** Stops handing out keys: workers get undefined from now on; queued and delayed keys are dropped. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) timer.cancel();
    this.#delayed.clear();
    this.#addedAt.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  /** A waiting key that no worker holds goes to the first idle worker, or to the end of the queue. */
  #enqueue(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#take(key);
      waiter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** `key` leaves the waiting set for a worker. */
  #take(key: string): void {
    const now = this.#options.clock.monotonic();
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#startedAt.set(key, now);
    const added = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    this.#options.observer?.started(added === undefined ? 0 : now - added);
  }
}
