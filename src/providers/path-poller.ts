// The path, not the definition, is the unit of polling. Every distinct source (path plus pinned
// version) of a backend is read once per refresh interval (the shortest interval among the
// definitions using it) however many definitions use it; concurrent first reads share one
// request; and when what a path holds changes, or its read starts or stops failing, every
// definition using it is told. Reconciles read from here and so cost the backend nothing while the
// data is current. When all paths together ask for more reads than the backend's rate limit leaves
// to refreshes, the shared RefreshBudget stretches every interval by the same factor.

import { createHash } from 'node:crypto';
import { backoff, type Clock, type Random, type Timer } from '../clock.ts';
import { ProviderError, type FailureReason } from './errors.ts';
import type { SourceVersion } from '../api/types.ts';
import type { SecretData, SourceRef } from './provider.ts';
import type { RequestPriority } from '../rate-limit/rate-limiter.ts';
import type { RefreshBudget } from './refresh-budget.ts';

export interface SourceReader {
  /** `priority` refresh: a path already read, which waits behind first reads under the rate limit. */
  read(path: string, version?: SourceVersion, options?: { priority?: RequestPriority }): Promise<SecretData>;
}

export interface PollerObserver {
  /** A reconcile was served from the cache instead of a read. */
  shared(): void;
}

type Outcome =
  | { readonly ok: true; readonly data: SecretData; readonly fingerprint: string }
  | { readonly ok: false; readonly error: ProviderError; readonly fingerprint: string };

interface Entry {
  readonly source: SourceRef;
  readonly users: Set<string>;
  outcome: Outcome | undefined;
  inflight: Promise<Outcome> | undefined;
  failures: number;
  /** Whether a read ever succeeded: until then its retries are first reads, after that refreshes. */
  everRead: boolean;
  timer: Timer | undefined;
  /**
   * When the last read started and when the next is due, on the monotonic clock (a stepped wall
   * clock must not move a read): to pull the next one in.
   */
  readAt: number;
  dueAt: number;
  /** Whether the first refresh was spread already (only the first is jittered). */
  spread: boolean;
}

export interface PathPollerOptions {
  readonly reader: SourceReader;
  readonly clock: Clock;
  readonly random: Random;
  /** Called with the users of a source whose content or failure changed. */
  readonly onChange: (users: readonly string[]) => void;
  readonly observer?: PollerObserver;
  /** Shared by every poller behind one rate limit: stretches intervals fairly when needed. */
  readonly budget?: RefreshBudget;
  /** The reason of a read that failed without one (the backend's "unavailable"). */
  readonly unavailable: FailureReason;
}

export function sourceKey(source: SourceRef): string {
  return source.version === undefined ? source.path : `${source.path}@${source.version}`;
}

export class PathPoller {
  readonly #options: PathPollerOptions;
  readonly #entries = new Map<string, Entry>();
  /** For each user: its sources and its refresh interval. */
  readonly #users = new Map<string, { keys: Set<string>; intervalMs: number }>();
  #stopped = false;

  constructor(options: PathPollerOptions) {
    this.#options = options;
  }

  /** Declares which sources `user` needs and how fresh; replaces what it declared before. */
  track(user: string, sources: readonly SourceRef[], intervalMs: number): void {
    const keys = new Set(sources.map(sourceKey));
    const before = this.#users.get(user);
    this.#users.set(user, { keys, intervalMs });
    for (const source of sources) {
      const key = sourceKey(source);
      let entry = this.#entries.get(key);
      if (!entry) {
        entry = {
          source,
          users: new Set(),
          outcome: undefined,
          inflight: undefined,
          failures: 0,
          everRead: false,
          timer: undefined,
          readAt: 0,
          dueAt: 0,
          spread: false,
        };
        this.#entries.set(key, entry);
      }
      entry.users.add(user);
      this.#pullIn(entry);
    }
    for (const key of before?.keys ?? []) if (!keys.has(key)) this.#release(key, user);
  }

  untrack(user: string): void {
    const before = this.#users.get(user);
    this.#users.delete(user);
    for (const key of before?.keys ?? []) this.#release(key, user);
  }

  /**
   * The data of a source: from the cache while it is current, else one shared read. `fresh`
   * skips the cache (a read already under way is still shared).
   */
  async get(source: SourceRef, fresh = false): Promise<SecretData> {
    const entry = this.#entries.get(sourceKey(source));
    if (!entry) throw new Error(`source ${sourceKey(source)} is read before it is tracked`);
    let outcome = entry.outcome;
    if (outcome && !fresh) {
      this.#options.observer?.shared();
    } else {
      // A definition waits for this read: it goes with the first reads.
      outcome = await this.#refresh(entry, 'first');
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.data;
  }

  /** How many distinct sources are polled: for metrics and tests. */
  get size(): number {
    return this.#entries.size;
  }

  stop(): void {
    this.#stopped = true;
    for (const entry of this.#entries.values()) {
      entry.timer?.cancel();
      this.#options.budget?.ask(entry, undefined);
    }
  }

  #release(key: string, user: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.users.delete(user);
    if (entry.users.size === 0) {
      entry.timer?.cancel();
      this.#entries.delete(key);
      this.#options.budget?.ask(entry, undefined);
    } else {
      this.#ask(key);
    }
  }

  /** Tells the budget how often a path asks to be read. */
  #ask(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) this.#options.budget?.ask(entry, this.#intervalOf(entry));
  }

  /** The interval a path is really read at: its own, stretched when the backend cannot keep up. */
  #effectiveInterval(entry: Entry): number {
    const interval = this.#intervalOf(entry);
    return this.#options.budget?.stretched(interval) ?? interval;
  }

  /**
   * A user with a shorter interval joined a path that is already polled: its next read moves up to
   * the last read plus the new interval, instead of waiting out the slower schedule.
   */
  #pullIn(entry: Entry): void {
    this.#options.budget?.ask(entry, this.#intervalOf(entry));
    if (!entry.timer || !entry.outcome?.ok) return;
    const { clock, random } = this.#options;
    const due = entry.readAt + this.#effectiveInterval(entry) * (entry.spread ? 1 : 0.9 + 0.1 * random());
    if (due >= entry.dueAt) return;
    entry.timer.cancel();
    entry.dueAt = Math.max(clock.monotonic(), due);
    entry.timer = clock.after(entry.dueAt - clock.monotonic(), () => void this.#refresh(entry, 'refresh'));
  }

  #intervalOf(entry: Entry): number {
    let shortest = Number.POSITIVE_INFINITY;
    for (const user of entry.users)
      shortest = Math.min(shortest, this.#users.get(user)?.intervalMs ?? shortest);
    return Number.isFinite(shortest) ? shortest : 60_000;
  }

  #refresh(entry: Entry, priority: RequestPriority): Promise<Outcome> {
    entry.inflight ??= this.#read(entry, priority).finally(() => (entry.inflight = undefined));
    return entry.inflight;
  }

  async #read(entry: Entry, priority: RequestPriority): Promise<Outcome> {
    const { reader, clock, random } = this.#options;
    const startedAt = clock.monotonic();
    let outcome: Outcome;
    try {
      const data = await reader.read(entry.source.path, entry.source.version, { priority });
      outcome = { ok: true, data, fingerprint: dataFingerprint(data) };
      entry.failures = 0;
      entry.everRead = true;
    } catch (error) {
      const failure =
        error instanceof ProviderError
          ? error
          : new ProviderError(
              this.#options.unavailable,
              error instanceof Error ? error.message : String(error),
            );
      // A reason and a status, not the message: a backend whose error text keeps changing
      // (ECONNRESET, a timing) must not rewrite the status of every user of the path each time.
      outcome = { ok: false, error: failure, fingerprint: `${failure.reason}:${failure.status ?? ''}` };
      entry.failures += 1;
    }
    const changed = entry.outcome !== undefined && entry.outcome.fingerprint !== outcome.fingerprint;
    entry.outcome = outcome;
    if (this.#stopped || this.#entries.get(sourceKey(entry.source)) !== entry) return outcome;

    const interval = this.#effectiveInterval(entry);
    // Reads start one interval apart, however long each took: exactly one read per interval. Only
    // the first refresh is moved up by up to a tenth, so paths first read together spread out.
    // A failing source is retried sooner than its interval, but politely.
    const period = entry.spread ? interval : interval * (0.9 + 0.1 * random());
    if (outcome.ok) entry.spread = true;
    const now = clock.monotonic();
    const delay = outcome.ok
      ? Math.max(0, startedAt + period - now)
      : Math.min(interval, backoff(entry.failures, 1_000, 300_000, random));
    entry.timer?.cancel();
    entry.readAt = outcome.ok ? startedAt : now;
    entry.dueAt = now + delay;
    // A path that has never been read successfully is still a first read; one that was read and
    // now fails retries as a refresh, so failing paths cannot crowd out the reads of working ones.
    entry.timer = clock.after(delay, () => void this.#refresh(entry, entry.everRead ? 'refresh' : 'first'));
    if (changed) this.#options.onChange([...entry.users]);
    return outcome;
  }
}

/** A hash of the data, so that the values are kept once (the data), not twice (and its JSON). */
function dataFingerprint(data: SecretData): string {
  return `ok:${createHash('sha256').update(JSON.stringify(data)).digest('base64url')}`;
}
