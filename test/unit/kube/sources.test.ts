// The informers' list: every page, and each item turned into what the cache keeps as its page
// arrives, so a list of Secrets never holds all their values at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { toLiveSecret } from '../../../src/kube/live-secret.ts';
import { managedSecretSource } from '../../../src/kube/sources.ts';

const secret = (name: string) => ({
  metadata: { name, namespace: 'team-a', uid: `u-${name}`, resourceVersion: '3' },
  data: { password: Buffer.from(`value of ${name}`).toString('base64') },
});

test('a list of managed Secrets converts each page as it arrives, following continue, with the label selector', async () => {
  const asked: string[] = [];
  let converted = 0;
  const pages: Record<string, unknown> = {
    '': { items: [secret('a'), secret('b')], metadata: { resourceVersion: '10', continue: 'next' } },
    next: { items: [secret('c')], metadata: { resourceVersion: '11' } },
  };
  const kube = {
    getJson: async (path: string, query: Record<string, string | number>) => {
      asked.push(`${path} ${JSON.stringify(query)} after ${converted} converted`);
      return pages[String(query['continue'] ?? '')];
    },
  } as unknown as KubeApi;
  const page = await managedSecretSource(kube, 'team-a').list(undefined, (item) => {
    converted += 1;
    return toLiveSecret(item, 'secrets-manager');
  });
  assert.deepEqual(asked, [
    '/api/v1/namespaces/team-a/secrets {"limit":500,"labelSelector":"app.kubernetes.io/managed-by=secrets-manager"} after 0 converted',
    '/api/v1/namespaces/team-a/secrets {"limit":500,"labelSelector":"app.kubernetes.io/managed-by=secrets-manager","continue":"next"} after 2 converted',
  ]);
  assert.equal(page.resourceVersion, '10');
  assert.deepEqual(
    page.items.map((s) => s?.name),
    ['a', 'b', 'c'],
  );
  assert.equal(JSON.stringify(page.items).includes(Buffer.from('value of a').toString('base64')), false);
});
