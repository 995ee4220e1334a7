import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../../src/api/duration.ts';

test('Go-style durations parse to milliseconds', () => {
  assert.equal(parseDuration('5s'), 5_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5m'), 90_000);
});

test('anything else is not a duration', () => {
  for (const text of ['', '5', 's', '5 s', '-5s', '5d', 'soon'])
    assert.equal(parseDuration(text), undefined, text);
});

test('durations format back to their shortest text', () => {
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(1_500), '1s500ms');
  assert.equal(formatDuration(0), '0s');
});
