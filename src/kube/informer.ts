// An informer that expects the network to fail: list, then watch from the list's resourceVersion;
// a watch that ends is resumed from the last version seen (bookmarks keep it recent), and only a
// watch that says "expired" (410 Gone) is replaced by a fresh list, as client-go does; every failure
// backs off with jitter. There is no periodic relist: at 10,000 objects a relist on a timer is a
// storm of list traffic and memory for nothing. A silently dead connection is noticed by the
// watch's inactivity timeout (no bytes, not even a bookmark, for 30 s) and resumed. Handlers are
// synchronous and should only enqueue keys.

import { backoff, type Clock, type Random } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import type { InformerSource } from './sources.ts';

export interface InformerHandlers<T> {
  upserted(object: T, previous: T | undefined): void;
  deleted(object: T): void;
}

export interface InformerLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export interface InformerOptions<T> {
  readonly source: InformerSource;
  /** Turns an API object into what the cache keeps; undefined drops it. */
  readonly convert: (object: unknown) => T | undefined;
  readonly keyOf: (object: T) => string;
  readonly versionOf: (object: T) => string;
  /** The object's uid: the same object through all its versions, never another's ("" if unknown). */
  readonly uidOf: (object: T) => string;
  readonly handlers: InformerHandlers<T>;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: InformerLogger;
}

/**
 * Deleted keys whose notes are kept for `remember`. A write's answer trails the watch by
 * milliseconds, not by thousands of deletions: only a write answered while more keys than this
 * were deleted could find its note gone, and then the object it wrote is cached as before.
 */
const maxDeletedKeys = 4096;

/** A deleted object: its uid, and the version its deletion came with (undefined: gone from a list). */
interface DeletedNote {
  readonly uid: string;
  readonly version: string | undefined;
}

type WatchEnd = { readonly expired: boolean; readonly error: unknown };

export class Informer<T> {
  readonly #options: InformerOptions<T>;
  readonly #cache = new Map<string, T>();
  /**
   * For keys the watch (or a relist) deleted: which object went, and the version the deletion came
   * with. The answer to a write can arrive after the watch has already brought the deletion that
   * followed it; remembering that answer would put the object back into the cache, and the Secret
   * would stay deleted while the operator believed it in place. Gone when the key comes back; the
   * oldest go past a bound. Not noted: an object created and deleted while the watch was down and
   * relisted before the create's answer was read, which the cache never held (telling that apart
   * would mean ordering resource versions).
   */
  readonly #deleted = new Map<string, DeletedNote>();
  readonly #stop = new AbortController();
  #synced = false;
  #running: Promise<void> | undefined;
  /** Why the last list failed, while the cache has not synced. */
  #listFailure: unknown;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** What is listed and where, for logs and readiness. */
  get description(): string {
    return this.#options.source.description;
  }

  /** Until the first list succeeds, why the last one failed, as one line (a 403 says who may not list what). */
  get listFailure(): string | undefined {
    return this.#synced || this.#listFailure === undefined ? undefined : describeError(this.#listFailure);
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  values(): IterableIterator<T> {
    return this.#cache.values();
  }

  get size(): number {
    return this.#cache.size;
  }

  /**
   * Puts an object the operator itself just wrote, so the next reconcile sees it before the watch
   * does; `basedOn` is the version the write started from (undefined: it created the object). When
   * the watch has already brought another version, the watch's copy stays: resource versions are
   * opaque strings, so they are only compared for equality, never ordered. When the watch has
   * already deleted this object (the same uid) since the write, it stays deleted. Answers whether
   * the cache took it.
   */
  remember(object: T, basedOn: string | undefined): boolean {
    const { keyOf, versionOf, uidOf } = this.#options;
    const key = keyOf(object);
    const current = this.#cache.get(key);
    if (current !== undefined) {
      if (versionOf(current) !== basedOn) return false;
    } else if (this.#wasDeleted(key, uidOf(object), basedOn)) return false;
    this.#deleted.delete(key);
    this.#cache.set(key, object);
    return true;
  }

  /**
   * Whether the watch deleted this very object after the write that answered it. A write based on
   * the version a deletion came with was made after it, so the object was still there: a watch
   * with a label selector reports an object whose label was removed as deleted, and the operator
   * may put the label back. No write can be based on the version of a real deletion.
   */
  #wasDeleted(key: string, uid: string, basedOn: string | undefined): boolean {
    const note = this.#deleted.get(key);
    if (note === undefined || uid === '' || note.uid !== uid) return false;
    return note.version === undefined || note.version !== basedOn;
  }

  forget(key: string): void {
    this.#cache.delete(key);
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { clock, random, source, logger } = this.#options;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        const page = await source.list(this.#stop.signal, this.#options.convert);
        this.#replace(page.items);
        this.#synced = true;
        this.#listFailure = undefined;
        failures = 0;
        let resourceVersion = page.resourceVersion;
        while (!this.#stop.signal.aborted) {
          const end = await this.#watch(resourceVersion, (rv) => (resourceVersion = rv));
          if (end.expired) break;
          if (end.error) {
            failures += 1;
            logger.debug('watch ended with an error; resuming', {
              source: source.description,
              error: describeError(end.error),
            });
            await clock.sleep(backoff(failures, 500, 30_000, random), this.#stop.signal);
          } else {
            failures = 0;
          }
        }
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        failures += 1;
        this.#listFailure = error;
        logger.warn('list failed; retrying', { source: source.description, error: describeError(error) });
        await clock.sleep(backoff(failures, 500, 30_000, random), this.#stop.signal);
      }
    }
  }

  #watch(resourceVersion: string, seen: (rv: string) => void): Promise<WatchEnd> {
    const { source } = this.#options;
    return new Promise<WatchEnd>((resolve) => {
      let expired = false;
      let controller: AbortController | undefined;
      let finished = false;
      const finish = (error: unknown): void => {
        if (finished) return;
        finished = true;
        this.#stop.signal.removeEventListener('abort', abort);
        controller?.abort();
        // The client ends a watch that saw nothing for a while: a normal end, resumed at once.
        const quiet = (error as { name?: unknown } | undefined)?.name === 'TimeoutError';
        // The version can also be refused when the watch starts: an HTTP 410, not an ERROR event.
        if ((error as { statusCode?: unknown } | undefined)?.statusCode === 410) expired = true;
        resolve({ expired, error: expired || quiet ? undefined : error });
      };
      const abort = (): void => finish(undefined);
      this.#stop.signal.addEventListener('abort', abort, { once: true });
      source
        .watch(
          resourceVersion,
          (type, object) => {
            if (type === 'ERROR') {
              expired = (object as { code?: unknown } | undefined)?.code === 410;
              finish(new Error(`watch error: ${JSON.stringify(object).slice(0, 300)}`));
              return;
            }
            const rv = (object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata
              ?.resourceVersion;
            if (typeof rv === 'string') seen(rv);
            if (type === 'BOOKMARK') return;
            this.#apply(type, object);
          },
          finish,
        )
        .then((c) => {
          controller = c;
          if (finished) c.abort();
        }, finish);
    });
  }

  #apply(type: string, raw: unknown): void {
    const object = this.#options.convert(raw);
    if (!object) return;
    const key = this.#options.keyOf(object);
    const previous = this.#cache.get(key);
    if (type === 'DELETED') {
      this.#cache.delete(key);
      this.#noteDeleted(key, object, this.#options.versionOf(object));
      this.#options.handlers.deleted(previous ?? object);
      return;
    }
    this.#deleted.delete(key);
    this.#cache.set(key, object);
    if (!previous || this.#options.versionOf(previous) !== this.#options.versionOf(object)) {
      this.#options.handlers.upserted(object, previous);
    }
  }

  /** Notes which object a deleted key held, for `remember`; past the bound the oldest note goes. */
  #noteDeleted(key: string, object: T, version: string | undefined): void {
    this.#deleted.delete(key);
    this.#deleted.set(key, { uid: this.#options.uidOf(object), version });
    if (this.#deleted.size <= maxDeletedKeys) return;
    const oldest = this.#deleted.keys().next().value;
    if (oldest !== undefined) this.#deleted.delete(oldest);
  }

  /** A fresh list, converted already: what disappeared is deleted, what is new or changed is upserted. */
  #replace(items: readonly T[]): void {
    const seen = new Set<string>();
    for (const object of items) {
      const key = this.#options.keyOf(object);
      seen.add(key);
      this.#deleted.delete(key);
      const previous = this.#cache.get(key);
      this.#cache.set(key, object);
      if (!previous || this.#options.versionOf(previous) !== this.#options.versionOf(object)) {
        this.#options.handlers.upserted(object, previous);
      }
    }
    for (const [key, object] of this.#cache) {
      if (!seen.has(key)) {
        this.#cache.delete(key);
        // Gone from a list: whatever happened to it since, no write answered before was made after.
        this.#noteDeleted(key, object, undefined);
        this.#options.handlers.deleted(object);
      }
    }
  }
}
