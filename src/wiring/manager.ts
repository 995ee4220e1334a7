// The lifecycle of the operator, as controller-runtime's Manager runs it: runnables start one
// after the other, in order (a start may wait: for leadership, for synced caches), and stop in
// the reverse order, each once. Stopping while a start still waits aborts that start's signal and
// stops it too, so a replica standing by for leadership stops at once.

export interface Runnable {
  /** Named when its stop fails. */
  readonly name: string;
  /** Starts it; may wait. `signal` aborts when the manager stops before the start is over. */
  start?(signal: AbortSignal): void | Promise<void>;
  /** Stops it. Called once, for every runnable whose start was called, even one still starting. */
  stop?(): void | Promise<void>;
}

export type StartOutcome = 'started' | 'stopped';

export class Manager {
  readonly #runnables: readonly Runnable[];
  readonly #onStopError: (name: string, error: unknown) => void;
  readonly #stopSignal = new AbortController();
  /** Whose start was called, in order. */
  readonly #begun: Runnable[] = [];
  #starting: Promise<StartOutcome> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(runnables: readonly Runnable[], onStopError: (name: string, error: unknown) => void) {
    this.#runnables = runnables;
    this.#onStopError = onStopError;
  }

  /**
   * Starts every runnable in order. Resolves `started` once all have started, or `stopped` when
   * `stop` came first; rejects with the error of a start that failed (the caller then stops).
   */
  start(): Promise<StartOutcome> {
    this.#starting ??= this.#startAll();
    return this.#starting;
  }

  /** Stops what was started, in reverse order; a failing stop is reported and the rest go on. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #startAll(): Promise<StartOutcome> {
    const signal = this.#stopSignal.signal;
    for (const runnable of this.#runnables) {
      if (signal.aborted) return 'stopped';
      this.#begun.push(runnable);
      try {
        await runnable.start?.(signal);
      } catch (error) {
        // A start given up because the manager stops is not a failure.
        if (signal.aborted) return 'stopped';
        throw error;
      }
    }
    return signal.aborted ? 'stopped' : 'started';
  }

  async #stopAll(): Promise<void> {
    this.#stopSignal.abort();
    // Taken once: a start that returns after this point sees the abort and begins nothing more.
    for (const runnable of this.#begun.splice(0).reverse()) {
      try {
        await runnable.stop?.();
      } catch (error) {
        this.#onStopError(runnable.name, error);
      }
    }
  }
}
