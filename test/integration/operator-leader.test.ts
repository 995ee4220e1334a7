// Two replicas with leader election: only the leader writes, and a killed leader is replaced
// within the lease duration.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyDefinition,
  putKv2,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import { metricSum } from '../support/metrics.ts';
import { freshNamespace, waitFor } from '../support/stack.ts';

async function leads(operator: RunningOperator): Promise<boolean> {
  return metricSum(await operator.metrics(), 'secrets_manager_leader') === 1;
}

test('with leader election only the leader writes, and killing it hands over within the lease duration', async (t) => {
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/app`, { v: 'one' });
  const election = [
    `--watch-namespaces=${ns}`,
    '--enable-leader-election',
    `--leader-election-namespace=${ns}`,
    '--leader-election-lease-duration=4s',
  ];
  const first = await startOperator(t, { args: election });
  await waitReady(first);
  await waitFor('the first instance to lead', async () => ((await leads(first)) ? true : undefined));
  const second = await startOperator(t, { args: election });
  await waitReady(second);

  await applyDefinition(ns, 'app', {
    name: 'app',
    refreshInterval: '1s',
    keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
  });
  await waitForReady(ns, 'app', 'True');
  const standby = await second.metrics();
  assert.equal(metricSum(standby, 'secrets_manager_leader'), 0);
  assert.doesNotMatch(standby, /^secrets_manager_secret_writes_total\{/m, 'the standby wrote no Secret');
  assert.doesNotMatch(
    standby,
    /^secrets_manager_vault_requests_total\{operation="read"/m,
    'the standby read nothing from Vault',
  );

  first.process.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(
    'the second instance to lead',
    async () => ((await leads(second)) ? true : undefined),
    10_000,
  );
  const handover = Date.now() - killedAt;
  assert.ok(handover <= 4_000 + 1_500, `handover took ${handover}ms for a 4s lease`);

  await putKv2(`secret/${ns}/app`, { v: 'two' });
  await waitForSecretValue(ns, 'app', 'v', 'two', 5_000);
});
