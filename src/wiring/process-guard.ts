// A promise nobody awaited that fails, or an exception nothing caught, is a bug: the operator's
// state can no longer be trusted. It is said through the logger (one described line, never
// Node's dump of the error, which prints every property: an answer's body, a request's headers),
// and the operator stops, exiting non-zero, so that its Deployment starts a fresh one.

import { describeError } from '../describe-error.ts';
import type { Logger } from '../observability/logger.ts';

/** The part of `process` the guard listens on. */
export interface ProcessEvents {
  on(event: 'unhandledRejection' | 'uncaughtException', listener: (error: unknown) => void): unknown;
}

export function guardProcess(events: ProcessEvents, logger: Logger, stop: () => void): void {
  let stopping = false;
  const fail = (what: string) => (error: unknown) => {
    logger.error(`${what}; stopping`, { error: describeError(error) });
    if (stopping) return;
    stopping = true;
    stop();
  };
  events.on('unhandledRejection', fail('a failure nothing waited for (a bug)'));
  events.on('uncaughtException', fail('an exception nothing caught (a bug)'));
}
