// A 3-minute run of `npm run soak` on the shared stack, with a fixed seed: churn, a Vault that
// accepts connections and never answers, a leader SIGKILLed mid-sync and a restarted apiserver,
// and not one violation from the independent checker (one writer at a time, from the apiserver's
// audit log, included). The soak leaves the stack serving and deletes its namespaces. The
// 60-minute run, with every fault, is in docs/reliability.md.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSoak } from '../../soak/soak.ts';
import { testStack } from '../support/stack.ts';

test('three minutes of churn and faults: every fault recovered within its budget, no violation', async (t) => {
  const { state } = await testStack();
  const result = await runSoak(state, {
    seed: 22,
    minutes: 3,
    n: 200,
    paths: 100,
    namespaces: 3,
    rate: 5,
    faults: ['vault-hang', 'leader-kill-mid-sync', 'apiserver-restart'],
    faultEveryS: 40,
    intervalSeconds: 5,
    leaseSeconds: 15,
    slackSeconds: 10,
    entry: join(import.meta.dirname, '..', '..', 'src', 'main.ts'),
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(
    JSON.stringify({ ...result, replicas: { ...result.replicas, samples: result.replicas.samples.length } }),
  );
  assert.deepEqual(result.violations, []);
  assert.deepEqual(
    result.faults.map((f) => f.kind).sort(),
    ['apiserver-restart', 'leader-kill-mid-sync', 'vault-hang'],
    'the seed schedules each fault once',
  );
  for (const fault of result.faults) {
    assert.ok(
      fault.recoveredS !== null && fault.recoveredS <= fault.budgetS,
      `${fault.kind} at ${fault.at} recovered after ${String(fault.recoveredS)}s (budget ${fault.budgetS}s)`,
    );
  }
  assert.ok(result.operations > 500, `only ${result.operations} operations applied`);
  assert.ok((result.operationsBy.rotate ?? 0) > 0 && (result.operationsBy['edit-secret'] ?? 0) > 0);
  assert.ok((result.operationsBy['kv-delete-restore'] ?? 0) > 0, 'KV versions deleted and restored');
  assert.ok(result.writers.handovers >= 1, 'the Lease changed hands at least once (the killed leader)');
  assert.ok(Object.keys(result.writers.writesBy).length >= 2, 'the audit log saw writes by both leaders');
  // Each replica's heap in use, scraped from its /metrics: a Node heap is tens of MiB, never zero.
  for (const replica of [0, 1]) {
    const heaps = result.replicas.samples.filter((s) => s.replica === replica && s.heapUsedMiB !== null);
    assert.ok(heaps.length >= 3, `replica ${replica}: ${heaps.length} heap samples`);
    for (const s of heaps)
      assert.ok((s.heapUsedMiB ?? 0) > 5 && (s.heapUsedMiB ?? 0) < s.rssMiB, 'heap in use within RSS');
  }
});
