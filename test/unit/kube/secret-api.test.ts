// The dry-run create that guards a type change: only the apiserver's AlreadyExists means it would take the Secret.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { kubeSecretApi } from '../../../src/kube/secret-api.ts';

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
