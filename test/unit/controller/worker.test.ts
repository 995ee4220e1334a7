import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from '../../../src/controller/queue.ts';
import type { ReconcileResult } from '../../../src/controller/reconciler.ts';
import { runWorker } from '../../../src/controller/worker.ts';
import { FakeClock, flush } from '../../support/fake-clock.ts';

test('a worker turns results into queue actions: retry backs off, recheck waits, a crash is retried', async () => {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, random: () => 0.5, baseDelayMs: 1_000, maxDelayMs: 60_000 });
  const results: Record<string, ReconcileResult | Error> = {
    ok: { kind: 'done' },
    flaky: { kind: 'retry', reason: 'VaultUnavailable' },
    waiting: { kind: 'requeueAfter', ms: 30_000 },
    broken: new Error('boom'),
  };
  const seen: string[] = [];
  const crashed: string[] = [];
  const reconciler = {
    async reconcile(key: string): Promise<ReconcileResult> {
      seen.push(key);
      const result = results[key];
      if (result instanceof Error) throw result;
      return result ?? { kind: 'done' };
    },
  };
  const worker = runWorker(queue, reconciler, clock, {
    started: () => undefined,
    reconciled: () => undefined,
    crashed: (key) => crashed.push(key),
  });
  for (const key of Object.keys(results)) queue.add(key);
  await flush();
  assert.deepEqual(seen, ['ok', 'flaky', 'waiting', 'broken']);
  assert.deepEqual(crashed, ['broken']);
  assert.equal(queue.failures('flaky'), 1);
  assert.equal(queue.failures('broken'), 1);

  await clock.advance(1_000);
  assert.deepEqual(seen.slice(4).sort(), ['broken', 'flaky'], 'retried after their first backoff');
  await clock.advance(30_000);
  assert.ok(seen.includes('waiting', 4), 'rechecked after its interval');
  assert.equal(seen.filter((k) => k === 'ok').length, 1);

  queue.shutDown();
  await worker;
});
