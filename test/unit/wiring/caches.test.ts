// The caches' start: it waits for every first list, and gives up, saying which list was refused
// and why, when one cannot be made.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { WorkQueue } from '../../../src/controller/queue.ts';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { Caches } from '../../../src/wiring/caches.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const forbidden = (namespace: string, resource: string) =>
  new ApiException(
    403,
    'refused',
    JSON.stringify({
      kind: 'Status',
      reason: 'Forbidden',
      message: `${resource} is forbidden: User "system:serviceaccount:ops:secrets-manager" cannot list resource "${resource}" in API group "" in the namespace "${namespace}"`,
    }),
    {},
  );

/** Lists that answer, except the Secrets of team-b, which the service account may not list. */
function kubeRefusing(): KubeApi {
  return {
    getJson: async (path: string) => {
      if (path === '/api/v1/namespaces/team-b/secrets') throw forbidden('team-b', 'secrets');
      return { items: [], metadata: { resourceVersion: '1' } };
    },
    watch: async () => new AbortController(),
  } as unknown as KubeApi;
}

test('a cache whose list is refused (RBAC) is named with the refusal in readiness, and the start gives up after the sync timeout', async () => {
  const clock = new FakeClock();
  const warnings: string[] = [];
  const caches = new Caches({
    kube: kubeRefusing(),
    watchNamespaces: ['team-a', 'team-b'],
    excludeNamespaces: [],
    fieldManager: 'secrets-manager',
    queue: new WorkQueue({ clock, random: () => 0.5, baseDelayMs: 1_000, maxDelayMs: 60_000 }),
    definitionAdded: () => undefined,
    definitionRemoved: () => undefined,
    clock,
    random: () => 0.5,
    logger: { info: () => {}, warn: (message) => warnings.push(message), debug: () => {}, error: () => {} },
    syncTimeoutMs: 60_000,
  });
  const runnable = caches.runnable();
  const stop = new AbortController();
  let outcome: unknown = 'still waiting';
  const now = (): unknown => outcome;
  const start = Promise.resolve(runnable.start?.(stop.signal)).then(
    () => (outcome = 'started'),
    (error: unknown) => (outcome = error),
  );
  await clock.advance(59_000);
  assert.equal(now(), 'still waiting');
  const refusal =
    'managed Secrets in team-b: 403 Forbidden: secrets is forbidden: User "system:serviceaccount:ops:secrets-manager" cannot list resource "secrets" in API group "" in the namespace "team-b"';
  assert.equal(caches.notSynced, `caches cannot be listed: ${refusal}`);
  await clock.advance(1_100);
  const failure = now();
  assert.ok(failure instanceof Error, String(failure));
  await start;
  assert.equal(failure.message, `caches cannot be listed: ${refusal} (gave up after 60 s)`);
  assert.ok(warnings.length >= 2 && warnings.every((w) => w === 'list failed; retrying'));
  await runnable.stop?.();
});

test('a standby keeps its caches warm with an empty queue; leading adds every definition once, and events from then on', async () => {
  const clock = new FakeClock();
  const definition = (name: string) => ({
    apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
    kind: 'SecretDefinition',
    metadata: { name, namespace: 'team-a', uid: `u-${name}`, resourceVersion: '1', generation: 1 },
    spec: { name, keysMap: {} },
  });
  const kube = {
    getJson: async (path: string) => ({
      items: path.endsWith('/secretdefinitions') ? [definition('a'), definition('b')] : [],
      metadata: { resourceVersion: '1' },
    }),
    watch: async () => new AbortController(),
  } as unknown as KubeApi;
  const queue = new WorkQueue({ clock, random: () => 0.5, baseDelayMs: 1_000, maxDelayMs: 60_000 });
  const caches = new Caches({
    kube,
    watchNamespaces: ['team-a'],
    excludeNamespaces: [],
    fieldManager: 'secrets-manager',
    queue,
    definitionAdded: () => undefined,
    definitionRemoved: () => undefined,
    clock,
    random: () => 0.5,
    logger: { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} },
  });
  const runnable = caches.runnable();
  const started = runnable.start?.(new AbortController().signal);
  await clock.advance(100);
  await started;
  assert.equal(caches.definitionCount, 2);
  caches.enqueueAll();
  assert.equal(queue.depth, 0, 'a standby queues nothing, whatever asks');
  caches.startEnqueueing();
  assert.equal(queue.depth, 2);
  await runnable.stop?.();
});
