// A promise nobody awaited that fails, or an exception nothing caught, is a bug: the operator's
// state can no longer be trusted. It is said through the logger (one described line, never
// Node's dump of the error, which prints every property: an answer's body, a request's headers),
// and the operator stops, exiting non-zero, so that its Deployment starts a fresh one: also when
// the bug comes while a SIGTERM stop is under way (the exit code says it), and within `graceMs`
// even when the stop itself never finishes.

import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../observability/logger.ts';

/** The part of `process` the guard listens on. */
export interface ProcessEvents {
  on(event: 'unhandledRejection' | 'uncaughtException', listener: (error: unknown) => void): unknown;
}

export interface ProcessGuardDeps {
  readonly logger: Logger;
  /** Stops the operator (its parts in order); the process then exits. */
  readonly stop: () => void;
  /** Ends the process at once, with `code`: when the stop outlives `graceMs`. */
  readonly exit: (code: number) => void;
  readonly clock: Pick<Clock, 'after'>;
  /** How long the stop may take after a bug before the process is ended. */
  readonly graceMs: number;
}

export interface ProcessGuard {
  /** Whether a bug was caught: the process must exit non-zero, however the stop went. */
  readonly failed: boolean;
}

export function guardProcess(events: ProcessEvents, deps: ProcessGuardDeps): ProcessGuard {
  let failed = false;
  const fail = (what: string) => (error: unknown) => {
    deps.logger.error(`${what}; stopping`, { error: describeError(error) });
    if (failed) return;
    failed = true;
    // The clock's timer never keeps the process alive: it ends only a stop that hangs.
    deps.clock.after(deps.graceMs, () => {
      deps.logger.error(`the stop took more than ${deps.graceMs / 1000} s after a bug; exiting`);
      deps.exit(1);
    });
    deps.stop();
  };
  events.on('unhandledRejection', fail('a failure nothing waited for (a bug)'));
  events.on('uncaughtException', fail('an exception nothing caught (a bug)'));
  return {
    get failed() {
      return failed;
    },
  };
}
