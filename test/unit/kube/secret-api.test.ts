// The Secret writes: the dry-run create that guards a type change, the create that never takes a name over, the apply over a uid, and the fold of a create's fields.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { foldCreateEntry, kubeSecretApi } from '../../../src/kube/secret-api.ts';

const refusing = (reason: string) =>
  ({
    core: {
      createNamespacedSecret: async () => {
        throw new ApiException(409, 'refused', JSON.stringify({ kind: 'Status', reason, message: 'no' }), {});
      },
    },
  }) as unknown as KubeApi;

const secret = {
  name: 's',
  namespace: 'ns',
  type: 'kubernetes.io/tls',
  labels: {},
  annotations: {},
  data: {},
  ownerReferences: [],
};

test("a dry-run create answered AlreadyExists would be accepted; a webhook's own 409 is a refusal", async () => {
  await kubeSecretApi(refusing('AlreadyExists'), 'secrets-manager').checkCreate(secret);
  await assert.rejects(kubeSecretApi(refusing('Conflict'), 'secrets-manager').checkCreate(secret), {
    name: 'KubeError',
    status: 409,
  });
});

const answering = (status: number, body: unknown) =>
  ({
    core: {
      createNamespacedSecret: async () => {
        throw new ApiException(status, 'refused', JSON.stringify(body), {});
      },
      patchNamespacedSecret: async () => {
        throw new ApiException(status, 'refused', JSON.stringify(body), {});
      },
    },
  }) as unknown as KubeApi;

test('a create of a name that is taken answers exists and writes nothing; another refusal is an error', async () => {
  const taken = answering(409, {
    kind: 'Status',
    reason: 'AlreadyExists',
    message: 'secrets "s" already exists',
  });
  assert.equal(await kubeSecretApi(taken, 'secrets-manager').create(secret), 'exists');
  const denied = answering(403, { kind: 'Status', reason: 'Forbidden', message: 'no' });
  await assert.rejects(kubeSecretApi(denied, 'secrets-manager').create(secret), {
    name: 'KubeError',
    status: 403,
  });
});

test("an apply over a uid that is no longer the Secret's is refused as Replaced, gone or replaced alike", async () => {
  const gone = answering(409, {
    kind: 'Status',
    reason: 'Conflict',
    message: 'uid mismatch: the provided object specified uid x, and no existing object was found',
  });
  const other = answering(422, {
    kind: 'Status',
    reason: 'Invalid',
    message: 'metadata.uid: field is immutable',
    details: { causes: [{ field: 'metadata.uid', reason: 'FieldValueInvalid' }] },
  });
  for (const api of [gone, other])
    await assert.rejects(kubeSecretApi(api, 'secrets-manager').apply(secret, 'x'), {
      name: 'KubeError',
      reason: 'Replaced',
      message:
        'applying Secret ns/s failed: the Secret was deleted or replaced since it was read, so it was not written; it is looked at again',
    });
  const invalid = answering(422, {
    kind: 'Status',
    reason: 'Invalid',
    details: { causes: [{ field: 'data[tls.key]', reason: 'FieldValueRequired' }] },
  });
  await assert.rejects(kubeSecretApi(invalid, 'secrets-manager').apply(secret, 'x'), { reason: 'Invalid' });
});

test("the create's fields fold into the operator's apply entry; every other manager's entry stays as it was", () => {
  const entries = [
    {
      manager: 'kubectl-label',
      operation: 'Update',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:x': {} } } },
    },
    {
      manager: 'secrets-manager-create',
      operation: 'Update',
      fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } },
    },
    { manager: 'secrets-manager', operation: 'Apply', fieldsV1: { 'f:data': { 'f:a': {}, 'f:c': {} } } },
  ];
  assert.deepEqual(foldCreateEntry(entries, 'secrets-manager'), [
    entries[0],
    {
      manager: 'secrets-manager',
      operation: 'Apply',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {}, 'f:c': {} } },
    },
  ]);
  // Without an apply entry yet, the create's entry becomes it.
  assert.deepEqual(foldCreateEntry(entries.slice(0, 2), 'secrets-manager')[1], {
    manager: 'secrets-manager',
    operation: 'Apply',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } },
  });
});

test('a snapshot is the Secret as it is, data included, only while it is still the object with that uid', async () => {
  const stored = {
    metadata: {
      name: 's',
      namespace: 'ns',
      uid: 'u-1',
      labels: { app: 'web' },
      annotations: { note: 'kept' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u-c' }],
    },
    type: 'Opaque',
    data: { v: 'b25l' },
  };
  const api = {
    core: {
      readNamespacedSecret: async ({ name }: { name: string }) => {
        if (name === 'gone')
          throw new ApiException(404, 'missing', JSON.stringify({ kind: 'Status', reason: 'NotFound' }), {});
        return stored;
      },
    },
  } as unknown as KubeApi;
  const secrets = kubeSecretApi(api, 'secrets-manager');
  assert.deepEqual(await secrets.snapshot('ns', 's', 'u-1'), {
    name: 's',
    namespace: 'ns',
    type: 'Opaque',
    labels: { app: 'web' },
    annotations: { note: 'kept' },
    data: { v: 'b25l' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u-c', controller: false }],
  });
  assert.equal(await secrets.snapshot('ns', 's', 'u-2'), undefined, 'replaced since');
  assert.equal(await secrets.snapshot('ns', 'gone', 'u-1'), undefined);
});
