// How often paths can really be refreshed. Every polled path asks for one read per interval; the
// sum of those asks is the demand, in reads per second. The Vault rate limit leaves a share of
// itself to refreshes (the rest stays free for first reads, logins and retries). When the demand
// exceeds that share, every path's interval is stretched by the same factor, so each path is
// still read, just less often, and no path is starved to feed another. Changes of the stretch are
// reported once things settle, not at every path added during a large start.

import type { Clock, Timer } from '../clock.ts';

/** The part of --vault.qps that refreshes may plan to use. */
export const refreshShare = 0.8;

/**
 * A stretch is reported once demand passes the budget by 5 %, and over once demand is back under
 * 95 % of it. Each report re-enqueues every definition and rewrites its Ready reason: demand
 * hovering at the budget (definitions coming and going) must not do that at every crossing.
 */
export const stretchStartsAbove = 1.05;
export const stretchEndsBelow = 0.95;

export interface Stretch {
  /** 1 when every path is read as often as asked; 2 when every path is read half as often. */
  readonly factor: number;
  /** Reads per second that the paths ask for. */
  readonly demandPerSecond: number;
  /** Reads per second the rate limit leaves to refreshes. */
  readonly budgetPerSecond: number;
  /** Distinct paths polled. */
  readonly paths: number;
}

export interface RefreshBudgetOptions {
  /** --vault.qps: all Vault requests per second. */
  readonly qps: number;
  readonly clock: Clock;
  /**
   * Called when the stretch starts (demand over stretchStartsAbove of the budget), ends (under
   * stretchEndsBelow), or moves by more than a tenth; after `settleMs` quiet.
   */
  /** `startedOrEnded`: the stretch began or ended (not only moved): Ready reasons change. */
  readonly onChange: (stretch: Stretch, previous: Stretch, startedOrEnded: boolean) => void;
  readonly settleMs?: number;
}

export class RefreshBudget {
  readonly #options: RefreshBudgetOptions;
  readonly #budgetPerMs: number;
  /** The interval (ms) each polled path asks for; keys are the pollers' own entries. */
  readonly #asks = new Map<object, number>();
  #demandPerMs = 0;
  #reported: Stretch;
  /** Whether a stretch was reported last: it holds until demand falls under stretchEndsBelow. */
  #reportedStretched = false;
  #check: Timer | undefined;
  #stopped = false;
  /** When the oldest change not yet looked at happened (clock ms). */
  #pendingSince: number | undefined;

  constructor(options: RefreshBudgetOptions) {
    if (!(options.qps > 0)) throw new Error('the refresh budget needs qps > 0');
    this.#options = options;
    this.#budgetPerMs = (options.qps * refreshShare) / 1000;
    this.#reported = this.current;
  }

  /** A path asks to be read every `intervalMs`; undefined: it is no longer polled. */
  ask(path: object, intervalMs: number | undefined): void {
    const before = this.#asks.get(path);
    if (before === intervalMs) return;
    if (before !== undefined) this.#demandPerMs -= 1 / before;
    if (intervalMs === undefined) this.#asks.delete(path);
    else {
      this.#asks.set(path, intervalMs);
      this.#demandPerMs += 1 / intervalMs;
    }
    if (this.#asks.size === 0) this.#demandPerMs = 0; // no drift from adding and removing floats
    // Pollers let their paths go when the operator stops: nothing to report then.
    if (!this.#stopped) this.#scheduleCheck();
  }

  /** The interval a path asking for `intervalMs` is really read at. */
  stretched(intervalMs: number): number {
    return intervalMs * this.factor;
  }

  get factor(): number {
    const factor = this.#demandPerMs / this.#budgetPerMs;
    // Sums of 1/interval carry rounding: a demand that exactly fits is not a stretch.
    return factor > 1 + 1e-9 ? factor : 1;
  }

  get current(): Stretch {
    return {
      factor: this.factor,
      demandPerSecond: this.#demandPerMs * 1000,
      budgetPerSecond: this.#budgetPerMs * 1000,
      paths: this.#asks.size,
    };
  }

  /** Whether paths are read less often than asked, as last reported through `onChange`. */
  get isStretched(): boolean {
    return this.#reportedStretched;
  }

  stop(): void {
    this.#stopped = true;
    this.#check?.cancel();
    this.#check = undefined;
  }

  #scheduleCheck(): void {
    // Every change pushes the check back, so it runs once the paths stop changing; but never more
    // than ten quiet periods after the first change, so a steady stream of new paths is reported.
    const { clock } = this.#options;
    const settleMs = this.#options.settleMs ?? 2_000;
    const now = clock.now();
    this.#pendingSince ??= now;
    this.#check?.cancel();
    const delay = Math.max(0, Math.min(settleMs, this.#pendingSince + 10 * settleMs - now));
    this.#check = clock.after(delay, () => {
      this.#check = undefined;
      this.#pendingSince = undefined;
      const now = this.current;
      const before = this.#reported;
      // As in `factor`, sums of 1/interval carry rounding: a ratio at a bound is at it, not past it.
      const ratio = this.#demandPerMs / this.#budgetPerMs;
      const stretched = this.#reportedStretched
        ? ratio >= stretchEndsBelow - 1e-9
        : ratio > stretchStartsAbove + 1e-9;
      const startedOrEnded = stretched !== this.#reportedStretched;
      const moved = stretched && now.factor > 1 && Math.abs(now.factor / before.factor - 1) > 0.1;
      if (!startedOrEnded && !moved) return;
      this.#reported = now;
      this.#reportedStretched = stretched;
      this.#options.onChange(now, before, startedOrEnded);
    });
  }
}

/** What to tell the user about a stretch: a warning while paths are read less often than asked. */
export function describeStretch(
  stretch: Stretch,
  qps: number,
  backend: { readonly name: string; readonly qpsFlag: string } = { name: 'Vault', qpsFlag: '--vault.qps' },
): { readonly level: 'warn' | 'info'; readonly message: string; readonly fields: Record<string, unknown> } {
  const fields = {
    paths: stretch.paths,
    demandPerSecond: Math.round(stretch.demandPerSecond * 10) / 10,
    refreshBudgetPerSecond: Math.round(stretch.budgetPerSecond * 10) / 10,
    stretch: Math.round(stretch.factor * 100) / 100,
  };
  if (stretch.factor <= 1) {
    return {
      level: 'info',
      message: `${backend.name} refreshes are back to the intervals asked for`,
      fields,
    };
  }
  const needed = Math.ceil(stretch.demandPerSecond / refreshShare);
  return {
    level: 'warn',
    message:
      `${backend.name} refreshes are stretched: ${stretch.paths} paths ask for ${fields.demandPerSecond} reads/s, ` +
      `but ${backend.qpsFlag} ${qps} leaves ${fields.refreshBudgetPerSecond}/s to refreshes, so every path is ` +
      `read ${fields.stretch} times less often than its interval asks; raise ${backend.qpsFlag} to at least ` +
      `${needed}, or lengthen --reconcile-period or spec.refreshInterval`,
    fields,
  };
}
