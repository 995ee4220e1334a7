// The caches' start: it waits for every first list, and gives up, saying which list was refused
// and why, when one cannot be made.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { WorkQueue } from '../../../src/controller/queue.ts';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { toLiveSecret } from '../../../src/kube/live-secret.ts';
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

/**
 * Caches over team-a, started (their lists answered with `items`), not yet enqueueing; `send`
 * delivers an event to the definitions' watch.
 */
async function startedCaches(items: unknown[]) {
  const clock = new FakeClock();
  let send: (type: string, object: unknown) => void = () => assert.fail('no definition watch yet');
  let sendSecret: (type: string, object: unknown) => void = () => assert.fail('no Secret watch yet');
  const kube = {
    getJson: async (path: string) => ({
      items: path.endsWith('/secretdefinitions') ? items : [],
      metadata: { resourceVersion: '1' },
    }),
    watch: async (path: string, _query: unknown, onEvent: (type: string, object: unknown) => void) => {
      if (path.endsWith('/secretdefinitions')) send = onEvent;
      if (path.endsWith('/secrets')) sendSecret = onEvent;
      return new AbortController();
    },
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
  return {
    caches,
    queue,
    send: (type: string, object: unknown) => send(type, object),
    sendSecret: (type: string, object: unknown) => sendSecret(type, object),
    stop: async () => void (await runnable.stop?.()),
  };
}

test('a standby keeps its caches warm with an empty queue; leading adds every definition once, and events from then on', async () => {
  const definition = (name: string) => ({
    apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
    kind: 'SecretDefinition',
    metadata: { name, namespace: 'team-a', uid: `u-${name}`, resourceVersion: '1', generation: 1 },
    spec: { name, keysMap: {} },
  });
  const { caches, queue, stop } = await startedCaches([definition('a'), definition('b')]);
  assert.equal(caches.definitionCount, 2);
  caches.enqueueAll();
  assert.equal(queue.depth, 0, 'a standby queues nothing, whatever asks');
  caches.startEnqueueing();
  assert.equal(queue.depth, 2);
  await stop();
});

/** startedCaches, leading, with the first adds taken and finished so that the depth counts what comes after. */
async function drivenCaches(items: unknown[]) {
  const started = await startedCaches(items);
  started.caches.startEnqueueing();
  for (let i = 0; i < items.length; i += 1) {
    const key = await started.queue.get();
    if (key) started.queue.done(key);
  }
  return started;
}

const definitionAt = (resourceVersion: string, generation: number, ready?: string) => ({
  apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
  kind: 'SecretDefinition',
  metadata: { name: 'a', namespace: 'team-a', uid: 'u-a', resourceVersion, generation },
  spec: { name: 'a', keysMap: {} },
  ...(ready ? { status: { conditions: [{ type: 'Ready', status: ready }] } } : {}),
});
const versionOf = (raw: unknown): unknown =>
  (raw as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

test('a status just written is what the next reconcile reads, before its watch event; its echo enqueues nothing', async () => {
  const { caches, queue, send, stop } = await drivenCaches([definitionAt('1', 1)]);
  caches.rememberDefinition(definitionAt('2', 1, 'True'), '1');
  assert.equal(versionOf(caches.definition('team-a/a')), '2');
  assert.deepEqual((caches.definition('team-a/a') as { status: unknown }).status, {
    conditions: [{ type: 'Ready', status: 'True' }],
  });
  send('MODIFIED', definitionAt('2', 1, 'True'));
  assert.equal(queue.depth, 0);
  // An answer to a write that started from a version the cache no longer holds is not kept.
  send('MODIFIED', definitionAt('3', 1, 'False'));
  caches.rememberDefinition(definitionAt('4', 1, 'True'), '2');
  assert.equal(versionOf(caches.definition('team-a/a')), '3');
  await stop();
});

test('an answer that carries a spec change made meanwhile is not kept: the watch brings it and enqueues the definition', async () => {
  const { caches, queue, send, stop } = await drivenCaches([definitionAt('1', 1)]);
  // The spec changed (generation 2, version 2) before the status write (version 3) landed.
  caches.rememberDefinition(definitionAt('3', 2, 'True'), '1');
  assert.equal(versionOf(caches.definition('team-a/a')), '1');
  send('MODIFIED', definitionAt('2', 2));
  assert.equal(queue.depth, 1);
  await stop();
});

test("a written Secret the watch has already deleted again is neither cached nor indexed as its definition's", async () => {
  const { caches, sendSecret, stop } = await startedCaches([]);
  const secret = (resourceVersion: string) => ({
    metadata: {
      name: 's',
      namespace: 'team-a',
      uid: 'u-s',
      resourceVersion,
      annotations: { 'secrets-manager.tuenti.io/owner': 'def' },
    },
    data: {},
  });
  sendSecret('ADDED', secret('1'));
  assert.equal(caches.secretIndex.ownerOf('team-a/s'), 'team-a/def');
  // The operator's update (1 to 2) is answered after the watch brought it and its deletion.
  sendSecret('MODIFIED', secret('2'));
  sendSecret('DELETED', secret('3'));
  const written = toLiveSecret(secret('2'), 'secrets-manager');
  assert.ok(written);
  caches.rememberSecret(written, '1');
  assert.equal(caches.liveSecret('team-a/s'), undefined);
  assert.equal(caches.secretIndex.ownerOf('team-a/s'), undefined);
  await stop();
});
