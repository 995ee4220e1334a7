import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Logger } from '../../../src/observability/logger.ts';
import { guardProcess } from '../../../src/wiring/process-guard.ts';

function recording(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = (message: string, fields?: Record<string, unknown>): void => {
    lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { logger: { error: log, warn: log, info: log, debug: log }, lines };
}

test('a failure nothing waited for is one described log line and stops the operator once; its properties are never printed', () => {
  const events = new EventEmitter();
  const { logger, lines } = recording();
  let stops = 0;
  guardProcess(events, logger, () => (stops += 1));
  const failure = Object.assign(new Error('status patch failed\nsecond line'), {
    headers: { authorization: 'Bearer hvs.not-to-be-seen' },
  });
  events.emit('unhandledRejection', failure);
  events.emit('uncaughtException', new Error('then this'));
  assert.deepEqual(lines, [
    'a failure nothing waited for (a bug); stopping {"error":"status patch failed"}',
    'an exception nothing caught (a bug); stopping {"error":"then this"}',
  ]);
  assert.equal(stops, 1);
});
