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
  /** The read a change the backend announced asks for, while it waits (its own timer: polling keeps its own). */
  changeTimer: Timer | undefined;
  /** When the last such read was asked for (monotonic ms): a path is read for changes at most once a second. */
  changeReadAt: number;
}

/** The least time between two reads of one path for announced changes. */
const changeGapMs = 1_000;

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
  /**
   * The least time between two refreshes of a path, 0 for none: while a change stream carries
   * every change, polling is only the safety net and can wait longer.
   */
  readonly minIntervalMs?: () => number;
}

export function sourceKey(source: SourceRef): string {
  return source.version === undefined ? source.path : `${source.path}@${source.version}`;
}

export class PathPoller {
  readonly #options: PathPollerOptions;
  readonly #entries = new Map<string, Entry>();
  /** The entries of each path, whatever version they pin: a change names a path. */
  readonly #byPath = new Map<string, Set<Entry>>();
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
          changeTimer: undefined,
          changeReadAt: Number.NEGATIVE_INFINITY,
        };
        this.#entries.set(key, entry);
        const byPath = this.#byPath.get(source.path) ?? new Set<Entry>();
        byPath.add(entry);
        this.#byPath.set(source.path, byPath);
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

  /**
   * The backend says `path` changed (its audit stream): every source of it, whatever version it
   * pins, is read again after `coalesceMs`, so that several changes close together are one read,
   * through the same rate limit as every read, and after a read already under way (which may
   * have started before the change). Answers how many sources of this poller that is.
   */
  changed(path: string, coalesceMs: number): { readonly sources: number; readonly reads: number } {
    const entries = this.#byPath.get(path);
    if (!entries || this.#stopped) return { sources: entries?.size ?? 0, reads: 0 };
    const { clock } = this.#options;
    let reads = 0;
    for (const entry of entries) {
      if (entry.changeTimer) continue;
      reads += 1;
      const delay = Math.max(coalesceMs, entry.changeReadAt + changeGapMs - clock.monotonic());
      entry.changeTimer = clock.after(delay, () => {
        entry.changeTimer = undefined;
        entry.changeReadAt = clock.monotonic();
        void (entry.inflight ?? Promise.resolve()).then(() => {
          // Untracked meanwhile, or stopped: nothing to read for.
          if (this.#stopped || this.#entries.get(sourceKey(entry.source)) !== entry) return;
          return this.#refresh(entry, 'refresh');
        });
      });
    }
    return { sources: entries.size, reads };
  }

  /**
   * The backend answers again after it answered nothing: every source whose last read found it
   * unavailable is read now, instead of when its retry backoff ends (up to an interval later).
   * The reads go through the rate limit like any other; a source that failed for a reason of its
   * own (not found, forbidden) keeps its schedule. Answers how many were moved up.
   */
  retryUnavailable(): number {
    if (this.#stopped) return 0;
    const { clock } = this.#options;
    let moved = 0;
    for (const entry of this.#entries.values()) {
      const outcome = entry.outcome;
      if (!outcome || outcome.ok || outcome.error.reason !== this.#options.unavailable) continue;
      if (entry.inflight || !entry.timer) continue;
      moved += 1;
      entry.timer.cancel();
      entry.dueAt = clock.monotonic();
      entry.timer = clock.after(0, () => void this.#refresh(entry, entry.everRead ? 'refresh' : 'first'));
    }
    return moved;
  }

  /** How many distinct sources are polled: for metrics and tests. */
  get size(): number {
    return this.#entries.size;
  }

  stop(): void {
    this.#stopped = true;
    for (const entry of this.#entries.values()) {
      entry.timer?.cancel();
      entry.changeTimer?.cancel();
      this.#options.budget?.ask(entry, undefined);
    }
  }

  #release(key: string, user: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.users.delete(user);
    if (entry.users.size === 0) {
      entry.timer?.cancel();
      entry.changeTimer?.cancel();
      this.#entries.delete(key);
      const byPath = this.#byPath.get(entry.source.path);
      byPath?.delete(entry);
      if (byPath?.size === 0) this.#byPath.delete(entry.source.path);
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
    if (this.#stopped) return;
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
    return Math.max(Number.isFinite(shortest) ? shortest : 60_000, this.#options.minIntervalMs?.() ?? 0);
  }

  /**
   * The least interval changed (the change stream came or went): every path asks the budget
   * again, and one now due sooner than scheduled is read at its own interval again.
   */
  intervalsChanged(): void {
    if (this.#stopped) return;
    // Every path asks first, so the stretch is the same for all when they are moved.
    for (const entry of this.#entries.values()) this.#options.budget?.ask(entry, this.#intervalOf(entry));
    const { clock, random } = this.#options;
    const now = clock.monotonic();
    for (const entry of this.#entries.values()) {
      if (!entry.timer || !entry.outcome?.ok) continue;
      const interval = this.#effectiveInterval(entry);
      const due = entry.readAt + interval;
      if (due >= entry.dueAt) continue;
      // Overdue ones are spread over their interval, not read all at once.
      entry.dueAt = due > now ? due : now + interval * random();
      entry.timer.cancel();
      entry.timer = clock.after(entry.dueAt - now, () => void this.#refresh(entry, 'refresh'));
    }
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
    // A path that is not there comes back by a write, which a change stream announces: with one
    // up, it waits for that (or its interval) instead of being retried every few seconds.
    const announced =
      !outcome.ok && outcome.error.reason === 'PathNotFound' && (this.#options.minIntervalMs?.() ?? 0) > 0;
    const delay = outcome.ok
      ? Math.max(0, startedAt + period - now)
      : announced
        ? interval
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
