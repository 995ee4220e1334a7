// Drop-in replacement of the original secrets-manager, scope flags, metrics, and secrecy.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { legacyFinalizer } from '../../src/api/types.ts';
import {
  applyDefinition,
  deleteDefinition,
  putKv2,
  readDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { processUsage } from '../../bench/observe.ts';
import { metricSum } from '../support/metrics.ts';
import { freshNamespace, kubectl, statusOf, testStack, waitFor } from '../support/stack.ts';

describe('compatibility with the original secrets-manager', () => {
  test('the original finalizer is removed on deletion, and the Secret goes with the definition', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: '1' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(
      ns,
      'old',
      { name: 'old', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } },
      { finalizers: [legacyFinalizer] },
    );
    await waitForReady(ns, 'old', 'True');

    await deleteDefinition(ns, 'old');
    await waitFor('the definition to be gone', async () => {
      try {
        await readDefinition(ns, 'old');
        return undefined;
      } catch (error) {
        return statusOf(error) === 404 ? true : undefined;
      }
    });
    await waitFor('its Secret to be gone', async () =>
      (await secretData(ns, 'old')) === undefined ? true : undefined,
    );
  });

  test('a Secret the original operator created (managed-by label, no owner) is adopted', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: 'from-vault' });
    await kubectl([
      'create',
      'secret',
      'generic',
      'legacy',
      '-n',
      ns,
      '--from-literal=v=stale',
      '--from-literal=gone=old-key',
    ]);
    await kubectl(['label', 'secret', 'legacy', '-n', ns, 'app.kubernetes.io/managed-by=secrets-manager']);
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'legacy', {
      name: 'legacy',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
    });
    await waitForReady(ns, 'legacy', 'True');
    const data = await secretData(ns, 'legacy');
    assert.equal(data?.['v'], 'from-vault');
    const owners = JSON.parse(
      await kubectl(['get', 'secret', 'legacy', '-n', ns, '-o', 'jsonpath={.metadata.ownerReferences}']),
    ) as { name: string; kind: string }[];
    assert.deepEqual(
      owners.map((o) => `${o.kind}/${o.name}`),
      ['SecretDefinition/legacy'],
    );
  });
});

describe('shutdown', () => {
  test('SIGTERM finishes cleanly with exit code 0 and revokes the Vault token', async (t) => {
    const ns = await freshNamespace(t);
    const { vault } = await testStack();
    const tokens = async (): Promise<number> =>
      ((await vault.call('LIST', 'auth/token/accessors')) as { data: { keys: string[] } }).data.keys.length;
    const before = await tokens();
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    assert.equal(await tokens(), before + 1);
    assert.equal(await operator.stop(), 0);
    assert.match(operator.logs(), /"message":"stopped"/);
    assert.equal(await tokens(), before);
  });
});

describe('scope', () => {
  test('--watch-namespaces is honoured and --exclude-namespaces wins over it', async (t) => {
    const watched = await freshNamespace(t);
    const excluded = await freshNamespace(t);
    const other = await freshNamespace(t);
    for (const ns of [watched, excluded, other]) {
      await putKv2(`secret/${ns}/app`, { v: ns });
    }
    const operator = await startOperator(t, {
      args: [
        `--watch-namespaces=${watched},${excluded}`,
        `--exclude-namespaces=${excluded}`,
        '--concurrency=1',
      ],
    });
    await waitReady(operator);
    for (const ns of [watched, excluded, other]) {
      await applyDefinition(ns, 'app', {
        name: 'app',
        keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
      });
    }
    await waitForReady(watched, 'app', 'True');
    // A marker applied after the others, in the watched namespace: once it is synced, the watch
    // events of the earlier definitions have been handled, and the excluded and unwatched ones
    // must have been left alone (one worker: nothing still in flight behind the marker).
    await applyDefinition(watched, 'marker', {
      name: 'marker',
      keysMap: { v: { path: `secret/${watched}/app`, key: 'v' } },
    });
    await waitForReady(watched, 'marker', 'True');
    assert.equal(await secretData(excluded, 'app'), undefined);
    assert.equal(await secretData(other, 'app'), undefined);
    assert.equal((await readDefinition(other, 'app')).status, undefined);
    assert.equal((await readDefinition(excluded, 'app')).status, undefined);
  });
});

describe('metrics and secrecy', () => {
  test('/metrics exposes every original metric with its labels, and the counters move', async (t) => {
    const ns = await freshNamespace(t);
    const { state, vault } = await testStack();
    await putKv2(`secret/${ns}/app`, { v: '1' });
    // A mount outside the operator's Vault policy.
    await vault.call('POST', `sys/mounts/forbidden-${ns}`, { type: 'kv', options: { version: '2' } });
    await putKv2(`forbidden-${ns}/app`, { v: 'hidden' });
    const startedS = Date.now() / 1000;
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`, '--concurrency=3'] });
    await waitReady(operator);
    await applyDefinition(ns, 'ok', { name: 'ok', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await applyDefinition(ns, 'broken', {
      name: 'broken',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'missing' } },
    });
    await applyDefinition(ns, 'denied', {
      name: 'denied',
      keysMap: { v: { path: `forbidden-${ns}/app`, key: 'v' } },
    });
    await waitForReady(ns, 'ok', 'True');
    await waitForReady(ns, 'broken', 'False', 'KeyNotFound');
    await waitForReady(ns, 'denied', 'False', 'Forbidden');
    // The status is written before the reconcile ends: wait for the last reconcile to be counted.
    const metrics = await waitFor('the three reconciles counted', async () => {
      const text = await operator.metrics();
      return metricSum(text, 'controller_runtime_reconcile_total{controller="SecretDefinition"') >= 3 &&
        metricSum(text, 'controller_runtime_active_workers') === 0
        ? text
        : undefined;
    });

    const vaultLabels = `vault_address="${state.vault.addr}",vault_engine="auto",vault_version="2.4.0",vault_cluster_id="`;
    assert.match(
      metrics,
      new RegExp(
        `^secrets_manager_vault_max_token_ttl\\{${escape(vaultLabels)}[^"]+",vault_cluster_name="[^"]+"\\} 300$`,
        'm',
      ),
    );
    assert.match(
      metrics,
      new RegExp(`^secrets_manager_vault_token_ttl\\{${escape(vaultLabels)}[^}]+\\} \\d+`, 'm'),
    );
    // The renewal and login errors are counted in operator-auth.test.ts, where they happen.
    assert.match(metrics, /^# TYPE secrets_manager_vault_token_renewal_errors_total counter$/m);
    assert.match(metrics, /^# TYPE secrets_manager_vault_login_errors_total counter$/m);
    // The path the policy forbids, counted as the original counted it.
    assert.match(
      metrics,
      new RegExp(
        `^secrets_manager_vault_read_secret_errors_total\\{${escape(vaultLabels)}[^}]*,path="forbidden-${ns}/app",key="v",error="BackendSecretForbiddenError"\\} [1-9]`,
        'm',
      ),
    );
    // The missing key of "broken", counted as the original counted it.
    assert.match(
      metrics,
      new RegExp(
        `^secrets_manager_vault_read_secret_errors_total\\{${escape(vaultLabels)}[^}]*,path="secret/${ns}/app",key="missing",error="BackendSecretNotFoundError"\\} [1-9]`,
        'm',
      ),
    );
    // The original counted the target Secret not found before its creation: once for "ok". Its
    // labels are the Secret's name and namespace (the original swapped their values).
    assert.match(
      metrics,
      new RegExp(
        `^secrets_manager_controller_secret_read_errors_total\\{name="ok",namespace="${ns}"\\} 1$`,
        'm',
      ),
    );
    assert.match(
      metrics,
      new RegExp(
        `^secrets_manager_controller_sync_errors_total\\{name="broken",namespace="${ns}"\\} [1-9]`,
        'm',
      ),
    );
    assert.match(
      metrics,
      new RegExp(`^secrets_manager_controller_last_sync_status\\{name="ok",namespace="${ns}"\\} 1$`, 'm'),
    );
    assert.match(
      metrics,
      new RegExp(`^secrets_manager_controller_last_sync_status\\{name="broken",namespace="${ns}"\\} 0$`, 'm'),
    );
    assert.match(metrics, /^secrets_manager_secret_writes_total\{operation="create"\} 1$/m);

    // controller-runtime's and client-go's series, as the original exported them.
    const controller = 'controller="SecretDefinition"';
    const value = (selector: string): number => metricSum(metrics, selector);
    assert.ok(
      value(`controller_runtime_reconcile_total{${controller},result="success"}`) >= 1,
      'ok: success',
    );
    const errors = value(`controller_runtime_reconcile_total{${controller},result="error"}`);
    assert.ok(errors >= 2, 'broken and denied: errors');
    assert.equal(value(`controller_runtime_reconcile_errors_total{${controller}}`), errors);
    assert.equal(
      value(`controller_runtime_reconcile_time_seconds_count{${controller}}`),
      value(`controller_runtime_reconcile_total{${controller}`),
    );
    assert.equal(value(`controller_runtime_max_concurrent_reconciles{${controller}}`), 3);
    assert.equal(value(`controller_runtime_active_workers{${controller}}`), 0);
    const queue = 'name="SecretDefinition"';
    assert.ok(value(`workqueue_adds_total{${queue}}`) >= 3);
    assert.equal(value(`workqueue_depth{${queue}}`), 0);
    assert.equal(
      value(`workqueue_queue_duration_seconds_count{${queue}}`),
      value(`workqueue_work_duration_seconds_count{${queue}}`),
    );
    assert.ok(value(`workqueue_work_duration_seconds_count{${queue}}`) >= 3);
    assert.match(metrics, new RegExp(`^workqueue_retries_total\\{${queue}\\} \\d+$`, 'm'));
    assert.match(metrics, new RegExp(`^workqueue_unfinished_work_seconds\\{${queue}\\} 0$`, 'm'));
    assert.match(metrics, new RegExp(`^workqueue_longest_running_processor_seconds\\{${queue}\\} 0$`, 'm'));
    const host = new URL(state.kube.server).host;
    assert.ok(value(`rest_client_requests_total{code="200",method="GET",host="${host}"}`) >= 1, 'GETs');
    assert.ok(
      value(`rest_client_requests_total{code="201",method="POST",host="${host}"}`) >= 1,
      'the Secret created',
    );
    assert.doesNotMatch(
      metrics,
      /^leader_election_master_status/m,
      'no Lease without --enable-leader-election',
    );
    assert.match(metrics, /^secrets_manager_vault_requests_total\{operation="read",status="200"\} [1-9]/m);
    for (const name of [
      'reconcile_duration_seconds_count',
      'vault_request_duration_seconds_count',
      'vault_reads_shared_total',
      'workqueue_depth',
      'leader',
      'vault_token_expiry_timestamp_seconds',
    ]) {
      assert.match(metrics, new RegExp(`^secrets_manager_${name}`, 'm'), name);
    }
    // The process collector's series, as the original's, measure the operator's own process.
    const { pid } = operator.process;
    assert.ok(pid !== undefined);
    const rssBytes = (await processUsage(pid)).rssMiB * 1024 * 1024;
    const scrapedRss = value('process_resident_memory_bytes');
    assert.ok(
      scrapedRss > rssBytes / 2 && scrapedRss < rssBytes * 2,
      `RSS ${scrapedRss} against ${rssBytes}`,
    );
    const startS = value('process_start_time_seconds');
    assert.ok(startS >= Math.floor(startedS) && startS <= Date.now() / 1000, `started at ${startS}`);
    assert.ok(value('process_cpu_seconds_total') > 0);
    assert.ok(value('nodejs_heap_size_used_bytes') > 0);
    // A Vault path is a label only where the original put one: its read-error counter.
    const withPath = metrics
      .split('\n')
      .filter((line) => line.includes(`secret/${ns}`) && !line.startsWith('#'))
      .map((line) => line.slice(0, line.indexOf('{')));
    assert.deepEqual([...new Set(withPath)], ['secrets_manager_vault_read_secret_errors_total']);
  });

  test('a canary secret value never appears in logs (debug), Events, status or /metrics', async (t) => {
    const ns = await freshNamespace(t);
    const canary = `canary-${Date.now()}-value`;
    await putKv2(`secret/${ns}/app`, { v: canary, notb64: `${canary}!` });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`, '--enable-debug-log'] });
    await waitReady(operator);
    await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await waitForReady(ns, 'app', 'True');
    await applyDefinition(ns, 'bad', {
      name: 'bad',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'notb64', encoding: 'base64' } },
    });
    await waitForReady(ns, 'bad', 'False', 'InvalidValue');
    await putKv2(`secret/${ns}/app`, { v: `${canary}-2`, notb64: `${canary}!` });
    await waitForSecretValue(ns, 'app', 'v', `${canary}-2`, 10_000);

    const { state } = await testStack();
    const places = {
      logs: operator.logs(),
      events: await kubectl(['get', 'events', '-n', ns, '-o', 'json']),
      status: JSON.stringify([
        (await readDefinition(ns, 'app')).status,
        (await readDefinition(ns, 'bad')).status,
      ]),
      metrics: await operator.metrics(),
    };
    assert.match(places.logs, /"level":"debug"/, 'debug logging was on');
    assert.match(places.events, /Synced/);
    for (const [place, text] of Object.entries(places)) {
      assert.ok(!text.includes(canary), `the canary leaked into ${place}`);
      assert.ok(!text.includes(state.vault.approle.secretId), `the secret-id leaked into ${place}`);
      assert.ok(
        !text.includes(Buffer.from(canary).toString('base64').slice(0, 16)),
        `the base64 canary leaked into ${place}`,
      );
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
