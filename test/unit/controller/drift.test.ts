import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecretDefinition } from '../../../src/api/types.ts';
import type { DesiredSecret } from '../../../src/controller/desired.ts';
import { driftOf, holdsData } from '../../../src/controller/drift.ts';
import { ownershipOf } from '../../../src/controller/ownership.ts';
import { valueHash, type LiveSecret } from '../../../src/kube/live-secret.ts';

const owner = {
  apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
  kind: 'SecretDefinition',
  name: 'app',
  uid: 'uid-1',
  controller: true,
};
const desired: DesiredSecret = {
  name: 'app',
  namespace: 'ns',
  type: 'Opaque',
  labels: { 'app.kubernetes.io/managed-by': 'secrets-manager' },
  annotations: {},
  data: { a: 'MQ==' },
  ownerReference: owner,
};
const none = {
  dataKeys: new Set<string>(),
  labels: new Set<string>(),
  annotations: new Set<string>(),
  ownerReferenceUids: new Set<string>(),
};

function live(overrides: Partial<LiveSecret> = {}): LiveSecret {
  return {
    name: 'app',
    namespace: 'ns',
    uid: 's-1',
    resourceVersion: '1',
    type: 'Opaque',
    labels: { 'app.kubernetes.io/managed-by': 'secrets-manager', 'other-tool': 'x' },
    annotations: { 'secrets-manager.tuenti.io/owner': 'app' },
    ownerReferences: [owner],
    dataHashes: { a: valueHash('MQ==') },
    applied: { ...none, dataKeys: new Set(['a']), labels: new Set(['app.kubernetes.io/managed-by']) },
    createdFields: false,
    ...overrides,
  };
}

const extra = { 'secrets-manager.tuenti.io/owner': 'app' };

describe('drift', () => {
  test('nothing differs: nothing to write, whatever other tools added', () => {
    assert.deepEqual(driftOf(desired, live(), extra), { kind: 'none' });
  });
  test('no Secret: create; another type: recreate', () => {
    assert.deepEqual(driftOf(desired, undefined, extra), { kind: 'create' });
    assert.deepEqual(driftOf(desired, live({ type: 'kubernetes.io/tls' }), extra), {
      kind: 'recreate',
      from: 'kubernetes.io/tls',
      to: 'Opaque',
    });
  });
  test('a changed value, or a key this operator applied and no longer wants, is an update', () => {
    assert.equal(driftOf(desired, live({ dataHashes: { a: valueHash('Mg==') } }), extra).kind, 'update');
    const stale = live({
      dataHashes: { a: valueHash('MQ=='), old: valueHash('eA==') },
      applied: { ...none, dataKeys: new Set(['a', 'old']) },
    });
    assert.deepEqual(driftOf(desired, stale, extra), {
      kind: 'update',
      why: 'data key old is no longer wanted',
    });
  });
  test('a data key another tool added is not drift', () => {
    assert.deepEqual(
      driftOf(desired, live({ dataHashes: { a: valueHash('MQ=='), theirs: valueHash('eA==') } }), extra),
      { kind: 'none' },
    );
  });
});

function definition(name = 'app', uid = 'uid-1'): SecretDefinition {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid,
      generation: 1,
      resourceVersion: '1',
      labels: {},
      annotations: {},
      finalizers: [],
      creationTimestamp: '',
    },
    spec: {
      name: 'app',
      type: 'Opaque',
      keysMap: {},
      dataFrom: [],
      deletionPolicy: 'Delete',
      rolloutRestartTargets: [],
    },
    status: {},
  };
}

describe('ownership', () => {
  test('ours by owner reference, by owner annotation (Retain), or as an earlier definition of the same name', () => {
    assert.deepEqual(ownershipOf(live(), definition()), { kind: 'ours', adopting: false });
    assert.deepEqual(ownershipOf(live({ ownerReferences: [] }), definition()), {
      kind: 'ours',
      adopting: false,
    });
    assert.deepEqual(ownershipOf(live(), definition('app', 'uid-2')), { kind: 'ours', adopting: true });
  });
  test("the original operator's Secret is adopted", () => {
    assert.deepEqual(ownershipOf(live({ ownerReferences: [], annotations: {} }), definition()), {
      kind: 'ours',
      adopting: true,
    });
  });
  test("another definition's Secret is a conflict; anything else is not ours", () => {
    assert.deepEqual(ownershipOf(live(), definition('other', 'uid-9')), {
      kind: 'conflict',
      otherDefinition: 'app',
    });
    const foreign = live({ ownerReferences: [], annotations: {}, labels: {} });
    assert.equal(ownershipOf(foreign, definition()).kind, 'notOwned');
    const controlled = live({
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true },
      ],
    });
    assert.deepEqual(ownershipOf(controlled, definition()), {
      kind: 'notOwned',
      detail: 'it is controlled by Deployment web',
    });
  });
});

describe('whether the live Secret holds the data (the data id stays, no restart)', () => {
  const applied = (keys: string[]) => ({ ...none, dataKeys: new Set(keys) });

  test('the same values: yes, whatever other tools added to the Secret', () => {
    const secret = live({
      dataHashes: { a: valueHash('MQ=='), 'added-by-another-tool': 'h' },
      applied: applied(['a']),
    });
    assert.equal(holdsData(secret, { a: 'MQ==' }), true);
  });

  test('another value, a missing key, or a key we wrote and would now remove: no', () => {
    assert.equal(
      holdsData(live({ dataHashes: { a: valueHash('Mg==') }, applied: applied(['a']) }), { a: 'MQ==' }),
      false,
    );
    assert.equal(holdsData(live({ dataHashes: {}, applied: applied([]) }), { a: 'MQ==' }), false);
    assert.equal(
      holdsData(live({ dataHashes: { a: valueHash('MQ=='), old: 'h' }, applied: applied(['a', 'old']) }), {
        a: 'MQ==',
      }),
      false,
    );
  });
});
