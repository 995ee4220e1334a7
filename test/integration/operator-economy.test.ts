// Economy: Vault is read once per distinct path per interval, nothing is written while nothing
// changes, and a restarted operator with everything in sync writes nothing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyDefinition,
  putKv2,
  startOperator,
  waitForReady,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import { metricSum } from '../support/metrics.ts';
import { freshNamespace, kubectl, waitFor } from '../support/stack.ts';

async function reads(operator: RunningOperator): Promise<number> {
  return metricSum(await operator.metrics(), 'secrets_manager_vault_requests_total{operation="read"');
}

async function versions(ns: string): Promise<string> {
  return kubectl([
    'get',
    'secretdefinitions,secrets',
    '-n',
    ns,
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}',
  ]);
}

test('one Vault read per distinct path per interval, no writes while nothing changes, none after a restart', async (t) => {
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/db`, { user: 'u', password: 'p' });
  await putKv2(`secret/${ns}/common`, { region: 'eu' });
  const args = [`--watch-namespaces=${ns}`, '--reconcile-period=1s'];
  const first = await startOperator(t, { args });
  await waitReady(first);
  // Five definitions, eight keys, three spellings, two distinct Vault secrets.
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    await applyDefinition(ns, name, {
      name,
      keysMap: {
        user: { path: `secret/data/${ns}/db`, key: 'user' },
        password: { path: `secret/${ns}/db`, key: 'password' },
      },
      dataFrom: [{ path: `secret/${ns}/common` }],
    });
  }
  for (const name of ['a', 'b', 'c', 'd', 'e']) await waitForReady(ns, name, 'True');

  const settled = await versions(ns);
  const readsBefore = await reads(first);
  // Ten more reads: five intervals of the two paths. They must come (the paths are still polled),
  // and not sooner than five intervals allow (one read per path per interval, whatever the
  // number of definitions, keys and spellings).
  const started = Date.now();
  const readsDuring = await waitFor(
    'ten more Vault reads',
    async () => {
      const count = (await reads(first)) - readsBefore;
      return count >= 10 ? count : undefined;
    },
    15_000,
  );
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(
    `${readsDuring} Vault reads in ${seconds.toFixed(1)}s for 5 definitions, 8 keys, 2 distinct paths at a 1s interval`,
  );
  assert.ok(
    readsDuring <= 2 * (Math.ceil(seconds / 0.9) + 1),
    `${readsDuring} reads in ${seconds}s for 2 paths at 1s`,
  );
  assert.equal(await versions(ns), settled, 'no Secret or status was written while nothing changed');

  await first.stop();
  const second = await startOperator(t, { args });
  await waitReady(second);
  // Every definition reconciled and found in sync by the new operator (its per-definition status
  // metric is set by each reconcile), then nothing may have been written.
  await waitFor('the restarted operator to verify all five definitions', async () =>
    metricSum(await second.metrics(), 'secrets_manager_controller_last_sync_status') === 5 ? true : undefined,
  );
  assert.equal(await versions(ns), settled, 'a restart with everything in sync wrote nothing');
  assert.equal(metricSum(await second.metrics(), 'secrets_manager_secret_writes_total'), 0);
});

test('paths that need more reads than --vault.qps allows are all stretched alike, and the operator says so until they fit', async (t) => {
  const ns = await freshNamespace(t);
  const names = ['a', 'b', 'c', 'd'];
  for (const name of names) await putKv2(`secret/${ns}/${name}`, { password: name });
  // --vault.qps 2 leaves 1.6 reads/s to refreshes; four paths every 2 s ask for 2/s: stretch 1.25.
  const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`, '--vault.qps=2'] });
  await waitReady(operator);
  for (const name of names) {
    await applyDefinition(ns, name, {
      name,
      refreshInterval: '2s',
      keysMap: { p: { path: `secret/${ns}/${name}`, key: 'password' } },
    });
  }
  for (const name of names) {
    const ready = await waitForReady(ns, name, 'True', 'RefreshStretched');
    assert.match(
      ready.message,
      /^Secret \w is in sync with Vault, but Vault is read less often than every 2s: /,
    );
  }
  assert.equal(metricSum(await operator.metrics(), 'secrets_manager_vault_refresh_stretch_ratio'), 1.25);
  assert.equal(metricSum(await operator.metrics(), 'secrets_manager_vault_refresh_demand_per_second'), 2);
  assert.match(
    operator.logs(),
    /"message":"Vault refreshes are stretched: 4 paths ask for 2 reads\/s, but --vault.qps 2 leaves 1.6\/s to refreshes, so every path is read 1.25 times less often than its interval asks; raise --vault.qps to at least 3, or lengthen --reconcile-period or spec.refreshInterval"/,
  );

  // Two definitions go: 1 read/s fits, and the two left are back to Synced without any change.
  await kubectl(['delete', 'secretdefinitions', 'c', 'd', '-n', ns, '--wait=false']);
  for (const name of ['a', 'b']) await waitForReady(ns, name, 'True', 'Synced');
  assert.equal(metricSum(await operator.metrics(), 'secrets_manager_vault_refresh_stretch_ratio'), 1);
  assert.match(operator.logs(), /"message":"Vault refreshes are back to the intervals asked for"/);
});

test('--kube-api-qps and --kube-api-burst hold every request to the apiserver to that rate', async (t) => {
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/db`, { password: 'p' });
  const operator = await startOperator(t, {
    args: [`--watch-namespaces=${ns}`, '--kube-api-qps=4', '--kube-api-burst=1'],
  });
  await waitReady(operator);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const started = Date.now();
  for (const name of names) {
    await applyDefinition(ns, name, { name, keysMap: { p: { path: `secret/${ns}/db`, key: 'password' } } });
  }
  for (const name of names) await waitForReady(ns, name, 'True', 'Synced', 60_000);
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`8 definitions synced in ${seconds.toFixed(1)} s at 4 apiserver requests/s`);
  // Each definition costs a Secret create and a status patch: 16 requests, which at 4/s after a
  // burst of 1 cannot take less than 3.75 s. Unthrottled this takes well under a second.
  const writes = metricSum(await operator.metrics(), 'secrets_manager_secret_writes_total');
  assert.equal(writes, 8);
  assert.ok(
    seconds >= 3.75,
    `8 definitions synced in ${seconds.toFixed(1)} s: faster than 4 requests/s allows`,
  );
});
