// A 3-minute run of `npm run soak` on the shared stack, with a fixed seed: churn, an OpenBao
// restart, a SIGKILLed leader and a restarted apiserver, and not one violation from the
// independent checker. The soak leaves the stack serving and deletes its namespaces.

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
    faults: ['openbao-restart', 'leader-kill', 'apiserver-restart'],
    faultEveryS: 40,
    intervalSeconds: 5,
    leaseSeconds: 15,
    slackSeconds: 20,
    entry: join(import.meta.dirname, '..', '..', 'src', 'main.ts'),
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(
    JSON.stringify({ ...result, replicas: { ...result.replicas, samples: result.replicas.samples.length } }),
  );
  assert.deepEqual(result.violations, []);
  assert.deepEqual(
    result.faults.map((f) => f.kind).sort(),
    ['apiserver-restart', 'leader-kill', 'openbao-restart'],
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
});
