// The hostile-definition table (test/support/hostile-definitions.ts) against kube-apiserver's own
// validation of crd.yaml: what `kubectl apply` would answer. Dry runs, so nothing is stored.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { apiVersion, group, kind, plural, version } from '../../src/api/types.ts';
import { harmlessPaths, hostileDefinitions } from '../support/hostile-definitions.ts';
import { ensureCrd } from '../support/operator.ts';
import { statusOf, testStack } from '../support/stack.ts';

async function dryRunCreate(spec: unknown): Promise<{ status: number; message: string }> {
  await ensureCrd();
  const { kubeConfig } = await testStack();
  try {
    await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: 'default',
      body: { apiVersion, kind, metadata: { name: 'hostile' }, spec },
      dryRun: 'All',
    });
    return { status: 201, message: '' };
  } catch (error) {
    const body = (error as { body?: unknown }).body;
    return { status: statusOf(error) ?? 0, message: typeof body === 'string' ? body : JSON.stringify(body) };
  }
}

describe('kube-apiserver refuses each hostile definition at apply time', () => {
  for (const hostile of hostileDefinitions) {
    test(hostile.title, async () => {
      const answer = await dryRunCreate(hostile.spec);
      if (hostile.apiserverAccepts) {
        assert.equal(answer.status, 201, answer.message);
        return;
      }
      assert.equal(answer.status, 422, answer.message);
      assert.ok(answer.message.includes(hostile.apiserver), `${hostile.apiserver} not in ${answer.message}`);
    });
  }
});

describe('kube-apiserver accepts harmless names', () => {
  for (const path of harmlessPaths) {
    test(JSON.stringify(path), async () => {
      const answer = await dryRunCreate({ name: 'app', keysMap: { v: { path, key: 'v' } } });
      assert.equal(answer.status, 201, answer.message);
    });
  }
});
