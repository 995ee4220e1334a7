// Counter series that definitions count into and share: two definitions reading the same path and
// key, or two claiming the same Secret name, count into one series. A series is removed when the
// last definition that counted into it lets go of it, so the number of series follows what the
// live definitions read, not everything they ever read.

import type { Counter } from 'prom-client';

export type SeriesLabels = Readonly<Record<string, string>>;

interface Series {
  readonly counter: Counter;
  readonly labels: SeriesLabels;
  /** The labels as one string: the series' key in its counter's map. */
  readonly id: string;
  /** The definitions (namespace/name) that counted into it and still hold it. */
  readonly by: Set<string>;
}

export class SharedSeries {
  readonly #series = new Map<Counter, Map<string, Series>>();
  /** The series each definition holds: its own, found without a scan of them all. */
  readonly #of = new Map<string, Set<Series>>();

  /** Counts one into `counter`'s series with `labels`, held by `definition` from now on. */
  count(counter: Counter, labels: SeriesLabels, definition: string): void {
    counter.inc(labels);
    const id = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    const ofCounter = this.#series.get(counter) ?? new Map<string, Series>();
    this.#series.set(counter, ofCounter);
    const series = ofCounter.get(id) ?? { counter, labels, id, by: new Set<string>() };
    ofCounter.set(id, series);
    series.by.add(definition);
    const own = this.#of.get(definition) ?? new Set<Series>();
    own.add(series);
    this.#of.set(definition, own);
  }

  /** `definition` lets go of every series it holds for which `keep` says no (all, without one). */
  release(definition: string, keep: (counter: Counter, labels: SeriesLabels) => boolean = () => false): void {
    const own = this.#of.get(definition);
    if (own === undefined) return;
    for (const series of own) {
      if (keep(series.counter, series.labels)) continue;
      own.delete(series);
      series.by.delete(definition);
      if (series.by.size > 0) continue;
      series.counter.remove(series.labels);
      this.#series.get(series.counter)?.delete(series.id);
    }
    if (own.size === 0) this.#of.delete(definition);
  }
}
