// Economy: Vault is read once per distinct path per interval, nothing is written while nothing
// changes, and a restarted operator with everything in sync writes nothing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  applyDefinition,
  putKv2,
  startOperator,
  waitForReady,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import { metricSum } from '../support/metrics.ts';
import { freshNamespace, kubectl } from '../support/stack.ts';

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
  const started = Date.now();
  await delay(5_000);
  const seconds = (Date.now() - started) / 1000;
  const readsDuring = (await reads(first)) - readsBefore;
  t.diagnostic(
    `${readsDuring} Vault reads in ${seconds.toFixed(1)}s for 5 definitions, 8 keys, 2 distinct paths at a 1s interval`,
  );
  assert.ok(
    readsDuring <= 2 * (Math.ceil(seconds / 0.9) + 1),
    `${readsDuring} reads in ${seconds}s for 2 paths at 1s`,
  );
  assert.ok(
    readsDuring >= 2 * Math.floor(seconds / 1.1) - 2,
    `${readsDuring} reads in ${seconds}s: the paths are still polled`,
  );
  assert.equal(await versions(ns), settled, 'no Secret or status was written while nothing changed');

  await first.stop();
  const second = await startOperator(t, { args });
  await waitReady(second);
  await delay(3_000);
  assert.equal(await versions(ns), settled, 'a restart with everything in sync wrote nothing');
  assert.equal(metricSum(await second.metrics(), 'secrets_manager_secret_writes_total'), 0);
});
