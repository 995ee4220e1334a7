import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { ReconcileResult } from '../../../src/controller/reconciler.ts';
import { RuntimeMetrics } from '../../../src/observability/runtime-metrics.ts';

async function samples(registry: Registry, name: string): Promise<string[]> {
  return (await registry.metrics())
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

test('the reconcile series exist at 0 once the controller starts (not on a standby), as in controller-runtime', async () => {
  const registry = new Registry();
  const metrics = new RuntimeMetrics(registry, 'SecretDefinition');
  assert.deepEqual(await samples(registry, 'controller_runtime_reconcile_total'), [], 'standing by: none');
  assert.deepEqual(await samples(registry, 'controller_runtime_max_concurrent_reconciles'), []);
  metrics.controllerStarted(4);
  assert.deepEqual((await samples(registry, 'controller_runtime_reconcile_total')).sort(), [
    'controller_runtime_reconcile_total{controller="SecretDefinition",result="error"} 0',
    'controller_runtime_reconcile_total{controller="SecretDefinition",result="requeue"} 0',
    'controller_runtime_reconcile_total{controller="SecretDefinition",result="requeue_after"} 0',
    'controller_runtime_reconcile_total{controller="SecretDefinition",result="success"} 0',
  ]);
  assert.deepEqual(await samples(registry, 'controller_runtime_reconcile_errors_total'), [
    'controller_runtime_reconcile_errors_total{controller="SecretDefinition"} 0',
  ]);
  assert.deepEqual(await samples(registry, 'controller_runtime_active_workers'), [
    'controller_runtime_active_workers{controller="SecretDefinition"} 0',
  ]);
  assert.deepEqual(await samples(registry, 'controller_runtime_max_concurrent_reconciles'), [
    'controller_runtime_max_concurrent_reconciles{controller="SecretDefinition"} 4',
  ]);
});

test("reconcile results are counted under controller-runtime's result values; every failed sync is an error, as the original returned one", async () => {
  const registry = new Registry();
  const metrics = new RuntimeMetrics(registry, 'sm-a');
  metrics.controllerStarted(3);
  const results: ReconcileResult[] = [
    { kind: 'done' },
    { kind: 'done' },
    { kind: 'retry', reason: 'VaultUnavailable' },
    { kind: 'done', failure: 'KeyNotFound' },
    { kind: 'requeueAfter', ms: 1_000, failure: 'SecretConflict' },
    { kind: 'requeueAfter', ms: 1_000 },
  ];
  for (const result of results) {
    metrics.reconcileStarted();
    metrics.reconciled(result, 0.2);
  }
  metrics.reconcileStarted();
  assert.deepEqual((await samples(registry, 'controller_runtime_reconcile_total')).sort(), [
    'controller_runtime_reconcile_total{controller="sm-a",result="error"} 3',
    'controller_runtime_reconcile_total{controller="sm-a",result="requeue"} 0',
    'controller_runtime_reconcile_total{controller="sm-a",result="requeue_after"} 1',
    'controller_runtime_reconcile_total{controller="sm-a",result="success"} 2',
  ]);
  assert.deepEqual(await samples(registry, 'controller_runtime_reconcile_errors_total'), [
    'controller_runtime_reconcile_errors_total{controller="sm-a"} 3',
  ]);
  assert.deepEqual(await samples(registry, 'controller_runtime_active_workers'), [
    'controller_runtime_active_workers{controller="sm-a"} 1',
  ]);
  assert.deepEqual(await samples(registry, 'controller_runtime_max_concurrent_reconciles'), [
    'controller_runtime_max_concurrent_reconciles{controller="sm-a"} 3',
  ]);
  const time = await samples(registry, 'controller_runtime_reconcile_time_seconds_bucket');
  assert.equal(time.length, 41, "controller-runtime v0.8.3's 40 buckets and +Inf");
  assert.ok(time.includes('controller_runtime_reconcile_time_seconds_bucket{le="0.15",controller="sm-a"} 0'));
  assert.ok(time.includes('controller_runtime_reconcile_time_seconds_bucket{le="0.2",controller="sm-a"} 6'));
});

test('the queue series are named after the controller; depth and work in progress are read at scrape time', async () => {
  const registry = new Registry();
  const metrics = new RuntimeMetrics(registry, 'SecretDefinition');
  let readings = { waiting: 4, inProgressMs: () => [1_500, 500] };
  const observer = metrics.observeQueue(() => readings);
  observer.added();
  observer.added();
  observer.retried();
  observer.started(0.002);
  observer.finished(30);
  const name = 'name="SecretDefinition"';
  assert.deepEqual(await samples(registry, 'workqueue_depth'), [`workqueue_depth{${name}} 4`]);
  assert.deepEqual(await samples(registry, 'workqueue_adds_total'), [`workqueue_adds_total{${name}} 2`]);
  assert.deepEqual(await samples(registry, 'workqueue_retries_total'), [
    `workqueue_retries_total{${name}} 1`,
  ]);
  assert.deepEqual(await samples(registry, 'workqueue_unfinished_work_seconds'), [
    `workqueue_unfinished_work_seconds{${name}} 2`,
  ]);
  assert.deepEqual(await samples(registry, 'workqueue_longest_running_processor_seconds'), [
    `workqueue_longest_running_processor_seconds{${name}} 1.5`,
  ]);
  const waited = await samples(registry, 'workqueue_queue_duration_seconds_bucket');
  assert.deepEqual(
    waited.map((line) => line.replace(/\{le="([^"]+)".*\} /, ' $1 ')),
    [
      'workqueue_queue_duration_seconds_bucket 1e-8 0',
      'workqueue_queue_duration_seconds_bucket 1e-7 0',
      'workqueue_queue_duration_seconds_bucket 0.000001 0',
      'workqueue_queue_duration_seconds_bucket 0.00001 1',
      'workqueue_queue_duration_seconds_bucket 0.0001 1',
      'workqueue_queue_duration_seconds_bucket 0.001 1',
      'workqueue_queue_duration_seconds_bucket 0.01 1',
      'workqueue_queue_duration_seconds_bucket 0.1 1',
      'workqueue_queue_duration_seconds_bucket 1 1',
      'workqueue_queue_duration_seconds_bucket 10 1',
      'workqueue_queue_duration_seconds_bucket +Inf 1',
    ],
  );
  assert.deepEqual(await samples(registry, 'workqueue_work_duration_seconds_sum'), [
    `workqueue_work_duration_seconds_sum{${name}} 0.03`,
  ]);
  readings = { waiting: 0, inProgressMs: () => [] };
  assert.deepEqual(await samples(registry, 'workqueue_depth'), [`workqueue_depth{${name}} 0`]);
  assert.deepEqual(await samples(registry, 'workqueue_longest_running_processor_seconds'), [
    `workqueue_longest_running_processor_seconds{${name}} 0`,
  ]);
});

test('apiserver requests are counted by status code, method and host; no answer is <error>', async () => {
  const registry = new Registry();
  const metrics = new RuntimeMetrics(registry, 'SecretDefinition');
  metrics.restRequest('10.0.0.1:6443', 'GET', 200);
  metrics.restRequest('10.0.0.1:6443', 'GET', 200);
  metrics.restRequest('10.0.0.1:6443', 'PATCH', 409);
  metrics.restRequest('10.0.0.1:6443', 'PUT', undefined);
  assert.deepEqual((await samples(registry, 'rest_client_requests_total')).sort(), [
    'rest_client_requests_total{code="200",method="GET",host="10.0.0.1:6443"} 2',
    'rest_client_requests_total{code="409",method="PATCH",host="10.0.0.1:6443"} 1',
    'rest_client_requests_total{code="<error>",method="PUT",host="10.0.0.1:6443"} 1',
  ]);
});

test('leader_election_master_status is 1 while the lease is held, 0 otherwise', async () => {
  const registry = new Registry();
  const metrics = new RuntimeMetrics(registry, 'SecretDefinition');
  metrics.leading('5ac9a181.secrets-manager.tuenti.io', false);
  const line = (value: number): string[] => [
    `leader_election_master_status{name="5ac9a181.secrets-manager.tuenti.io"} ${value}`,
  ];
  assert.deepEqual(await samples(registry, 'leader_election_master_status'), line(0));
  metrics.leading('5ac9a181.secrets-manager.tuenti.io', true);
  assert.deepEqual(await samples(registry, 'leader_election_master_status'), line(1));
});
