// Migrating from the original Go secrets-manager, as a user would: the original's sample
// SecretDefinition and Deployment args applied unchanged (only the Vault address is this stack's),
// with what the original left behind: its Secret, its finalizer and its leader election Lease.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricSum } from '../support/metrics.ts';
import { ensureCrd, putKv2, readDefinition, startOperator, waitForReady } from '../support/operator.ts';
import { freshNamespace, kubectl, testStack, waitFor } from '../support/stack.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const leaseName = '5ac9a181.secrets-manager.tuenti.io';

interface SecretObject {
  metadata: { resourceVersion: string; ownerReferences?: { kind: string; name: string }[] };
  data: Record<string, string>;
}

test("the original's sample and Deployment args run unchanged: its Secret adopted without a data rewrite, its finalizer removed, its Lease taken over", async (t) => {
  await ensureCrd();
  const ns = await freshNamespace(t, 'migration');
  const { state } = await testStack();
  // config/samples/secretsmanager_v1alpha1_secretdefinition.yaml of the original, as it is.
  const sample = {
    apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
    kind: 'SecretDefinition',
    metadata: {
      name: 'secretdefinition-sample',
      namespace: ns,
      finalizers: ['secret.finalizer.secrets-manager.tuenti.io'],
    },
    spec: {
      name: 'supersecretnew',
      keysMap: {
        decoded: { path: 'secret/data/pathtosecret1', encoding: 'base64', key: 'value' },
        raw: { path: 'secret/data/pathtosecret1', key: 'value' },
      },
    },
  };
  const stored = b64('migrated value');
  await putKv2('secret/pathtosecret1', { value: stored });
  // What the original left: the Secret it wrote (its label, no owner), and its Lease, held by a
  // replica that is gone.
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'supersecretnew',
        namespace: ns,
        labels: { 'app.kubernetes.io/managed-by': 'secrets-manager' },
      },
      type: 'Opaque',
      data: { decoded: stored, raw: b64(stored) },
    }),
  );
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: leaseName, namespace: ns },
      spec: {
        holderIdentity: 'secrets-manager-7d9f8-original',
        leaseDurationSeconds: 3,
        renewTime: '2026-01-01T00:00:00.000000Z',
      },
    }),
  );
  await kubectl(['apply', '-f', '-'], JSON.stringify(sample));
  const before = JSON.parse(
    await kubectl(['get', 'secret', 'supersecretnew', '-n', ns, '-o', 'json']),
  ) as SecretObject;

  // The original's Deployment args (config/samples/secrets-manager.yaml), Vault address aside,
  // plus leader election in this namespace; VAULT_ROLE_ID and VAULT_SECRET_ID from the env.
  const operator = await startOperator(t, {
    args: [
      `-vault.url=${state.vault.addr}`,
      '-zap-log-level=debug',
      '-enable-leader-election',
      `-leader-election-namespace=${ns}`,
      `-watch-namespaces=${ns}`,
    ],
  });

  await waitFor('the Lease taken over', async () => {
    const lease = JSON.parse(await kubectl(['get', 'lease', leaseName, '-n', ns, '-o', 'json'])) as {
      spec: { holderIdentity?: string };
    };
    return lease.spec.holderIdentity !== 'secrets-manager-7d9f8-original' ? true : undefined;
  });
  // The gauge moves when the Lease write is answered, a moment after the Lease shows it.
  await waitFor('the operator to report it leads', async () =>
    metricSum(await operator.metrics(), 'secrets_manager_leader') === 1 ? true : undefined,
  );

  await waitForReady(ns, 'secretdefinition-sample', 'True', 'Synced');
  const adopted = await waitFor('the Secret adopted', async () => {
    const secret = JSON.parse(
      await kubectl(['get', 'secret', 'supersecretnew', '-n', ns, '-o', 'json']),
    ) as SecretObject;
    return secret.metadata.ownerReferences?.some((o) => o.kind === 'SecretDefinition') ? secret : undefined;
  });
  assert.deepEqual(adopted.data, before.data, 'the data the original wrote is kept as it is');
  assert.equal(Buffer.from(adopted.data['decoded'] ?? '', 'base64').toString(), 'migrated value');

  // The original's finalizer is honoured and removed: deleting the definition completes.
  await kubectl(['delete', 'secretdefinition', 'secretdefinition-sample', '-n', ns, '--wait=false']);
  await waitFor('the definition gone, its finalizer removed', async () =>
    (await readDefinition(ns, 'secretdefinition-sample').then(
      () => false,
      () => true,
    ))
      ? true
      : undefined,
  );
});
