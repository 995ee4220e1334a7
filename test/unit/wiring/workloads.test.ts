// The workload caches of rollout restarts start on every replica, before the Lease: a list that
// stays refused must not hold a replica forever, and readiness says which one and why.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { WorkloadCaches } from '../../../src/wiring/workloads.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const forbidden = new ApiException(
  403,
  'refused',
  JSON.stringify({
    kind: 'Status',
    reason: 'Forbidden',
    message:
      'statefulsets.apps is forbidden: User "system:serviceaccount:ops:secrets-manager" cannot list resource "statefulsets" in API group "apps" in the namespace "team-b"',
  }),
  {},
);

test('a workload cache whose list is refused is named with the refusal in readiness, and the start gives up after the sync timeout', async () => {
  const clock = new FakeClock();
  const workloads = new WorkloadCaches({
    kube: {
      getJson: async (path: string) => {
        if (path === '/apis/apps/v1/namespaces/team-b/statefulsets') throw forbidden;
        return { items: [], metadata: { resourceVersion: '1' } };
      },
      watch: async () => new AbortController(),
    } as unknown as KubeApi,
    watchNamespaces: ['team-a', 'team-b'],
    excludeNamespaces: [],
    clock,
    random: () => 0.5,
    logger: { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} },
    syncTimeoutMs: 60_000,
  });
  const runnable = workloads.runnable();
  let outcome: unknown = 'still waiting';
  const now = (): unknown => outcome;
  const start = Promise.resolve(runnable.start?.(new AbortController().signal)).then(
    () => (outcome = 'started'),
    (error: unknown) => (outcome = error),
  );
  await clock.advance(59_000);
  assert.equal(now(), 'still waiting');
  const refusal =
    'statefulsets in team-b: 403 Forbidden: statefulsets.apps is forbidden: User "system:serviceaccount:ops:secrets-manager" cannot list resource "statefulsets" in API group "apps" in the namespace "team-b"';
  assert.equal(workloads.notSynced, `workload caches cannot be listed: ${refusal}`);
  await clock.advance(1_100);
  await start;
  const failure = now();
  assert.ok(failure instanceof Error, String(failure));
  assert.equal(failure.message, `workload caches cannot be listed: ${refusal} (gave up after 60 s)`);
  await runnable.stop?.();
});
