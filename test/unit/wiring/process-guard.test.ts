import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Logger } from '../../../src/observability/logger.ts';
import { guardProcess } from '../../../src/wiring/process-guard.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function recording(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = (message: string, fields?: Record<string, unknown>): void => {
    lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { logger: { error: log, warn: log, info: log, debug: log }, lines };
}

function guarded() {
  const events = new EventEmitter();
  const { logger, lines } = recording();
  const clock = new FakeClock();
  const effects = { stops: 0, exits: [] as number[] };
  const guard = guardProcess(events, {
    logger,
    stop: () => (effects.stops += 1),
    exit: (code) => effects.exits.push(code),
    clock,
    graceMs: 20_000,
  });
  return { events, lines, clock, effects, guard };
}

test('a failure nothing waited for is one described log line and stops the operator once; its properties are never printed', () => {
  const { events, lines, effects, guard } = guarded();
  assert.equal(guard.failed, false);
  const failure = Object.assign(new Error('status patch failed\nsecond line'), {
    headers: { authorization: 'Bearer hvs.not-to-be-seen' },
  });
  events.emit('unhandledRejection', failure);
  events.emit('uncaughtException', new Error('then this'));
  assert.deepEqual(lines, [
    'a failure nothing waited for (a bug); stopping {"error":"status patch failed"}',
    'an exception nothing caught (a bug); stopping {"error":"then this"}',
  ]);
  assert.equal(effects.stops, 1);
  // However the stop ends (a SIGTERM's stop may be under way already), the exit code says it.
  assert.equal(guard.failed, true);
});

test('a stop that hangs after a bug ends the process with 1 once the grace has passed, and not before', async () => {
  const { events, lines, clock, effects } = guarded();
  events.emit('unhandledRejection', new Error('lost'));
  await clock.advance(19_999);
  assert.deepEqual(effects.exits, []);
  await clock.advance(1);
  assert.deepEqual(effects.exits, [1]);
  assert.equal(lines.at(-1), 'the stop took more than 20 s after a bug; exiting {}');
});
