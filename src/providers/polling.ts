// What every provider is built with, and the polling every provider shares: one refresh budget
// behind the backend's rate limit (stretch reported in a log line and the Ready reason), and path
// pollers that tell the queue which definitions a change concerns.

import type { BackendWords } from '../api/backends.ts';
import type { Clock, Random } from '../clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { PathPoller, type SourceReader } from './path-poller.ts';
import { describeStretch, RefreshBudget } from './refresh-budget.ts';

export interface ProviderDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The signal reads run under (the leadership term): aborted, no read goes out. */
  readonly signal: () => AbortSignal | undefined;
  /** What a path holds changed, or its read started or stopped failing: these definitions need a look. */
  readonly changed: (users: readonly string[]) => void;
  /** Refreshes started or stopped being stretched: every definition's Ready reason needs a look. */
  readonly stretchChanged: () => void;
}

export interface Polling {
  readonly budget: RefreshBudget;
  /**
   * A poller over `reader`, sharing the budget; `minIntervalMs`, when given, is the least time
   * between two refreshes of a path while it answers more than 0 (a change stream carries changes).
   */
  poller(reader: SourceReader, minIntervalMs?: () => number): PathPoller;
}

/** Polling behind a rate limit of `qps` reads per second, as `backend.qpsFlag` sets it. */
export function sharedPolling(qps: number, backend: BackendWords, deps: ProviderDeps): Polling {
  const { clock, random, logger, metrics } = deps;
  const budget = new RefreshBudget({
    qps,
    clock,
    onChange: (stretch, _before, startedOrEnded) => {
      const { level, message, fields } = describeStretch(stretch, qps, backend);
      logger[level](message, fields);
      // A move of the factor changes no Ready reason (their messages name no factor).
      if (startedOrEnded) deps.stretchChanged();
    },
  });
  return {
    budget,
    poller: (reader, minIntervalMs) =>
      new PathPoller({
        reader,
        clock,
        random,
        ...(minIntervalMs ? { minIntervalMs } : {}),
        onChange: deps.changed,
        observer: { shared: () => metrics.readsShared.inc() },
        budget,
        unavailable: backend.unavailable,
      }),
  };
}
