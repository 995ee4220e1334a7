// Faults on the real stack: OpenBao sealed, kube-apiserver restarted, the operator killed in the
// middle of a large sync. For each: no Secret is lost or blanked, every definition is correct again
// within one refresh interval after recovery, and a restart writes only what changed.
// (OpenBao stopped and restarted, a revoked token and a 5s token TTL are in operator-failures and
// operator-auth.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiVersion, kind } from '../../src/api/types.ts';
import { metricSum } from '../support/metrics.ts';
import {
  applyDefinition,
  putKv2,
  readDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import {
  freshNamespace,
  kubectl,
  startStackDaemon,
  stopStackDaemon,
  testStack,
  waitFor,
} from '../support/stack.ts';

const managedBy = 'app.kubernetes.io/managed-by=secrets-manager';

/** The managed Secrets of `namespace`: name to resourceVersion and decoded value of key v. */
async function managedSecrets(namespace: string): Promise<Map<string, { version: string; v: string }>> {
  const { core } = await testStack();
  const list = await core.listNamespacedSecret({ namespace, labelSelector: managedBy });
  return new Map(
    list.items.map((s) => [
      s.metadata?.name ?? '',
      {
        version: s.metadata?.resourceVersion ?? '',
        v: Buffer.from(s.data?.['v'] ?? '', 'base64').toString(),
      },
    ]),
  );
}

describe('faults', () => {
  test('OpenBao sealed: VaultUnavailable with the data kept; unsealed, correct again within one interval', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: 'before' });
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`, '--config.backend-timeout=1s'],
    });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '2s',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
    });
    await waitForSecretValue(ns, 'app', 'v', 'before');

    const { vault } = await testStack();
    await vault.call('PUT', 'sys/seal');
    try {
      const sealed = await waitForReady(ns, 'app', 'False', 'VaultUnavailable', 20_000);
      assert.match(sealed.message, /sealed or unavailable \(503\)|cannot reach Vault/);
      assert.deepEqual(
        await secretData(ns, 'app'),
        { v: 'before' },
        'the Secret keeps its data while sealed',
      );
    } finally {
      // The stack's OpenBao unseals itself with its static key when it starts.
      await stopStackDaemon('openbao');
      await startStackDaemon('openbao');
    }
    const unsealedAt = Date.now();
    await putKv2(`secret/${ns}/app`, { v: 'after' });
    // One refresh interval, plus the circuit breaker's wait before it tries Vault again.
    await waitForSecretValue(ns, 'app', 'v', 'after', 30_000);
    await waitForReady(ns, 'app', 'True', 'Synced', 5_000);
    assert.equal(operator.process.exitCode, null, 'the operator rode it out');
    t.diagnostic(`correct again ${Date.now() - unsealedAt}ms after the unseal`);
  });

  test('kube-apiserver restarted: the operator rides it out, writes the change it missed, and loses nothing', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/a`, { v: 'a1' });
    await putKv2(`secret/${ns}/b`, { v: 'b1' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    for (const name of ['a', 'b']) {
      await applyDefinition(ns, name, {
        name,
        refreshInterval: '2s',
        keysMap: { v: { path: `secret/${ns}/${name}`, key: 'v' } },
      });
      await waitForSecretValue(ns, name, 'v', `${name}1`);
    }
    const before = await managedSecrets(ns);

    await stopStackDaemon('kube-apiserver');
    try {
      await putKv2(`secret/${ns}/a`, { v: 'a2' });
    } finally {
      await startStackDaemon('kube-apiserver');
    }
    const backAt = Date.now();
    await waitForSecretValue(ns, 'a', 'v', 'a2', 20_000);
    t.diagnostic(`the missed change landed ${Date.now() - backAt}ms after the apiserver came back`);
    const after = await managedSecrets(ns);
    assert.equal(after.get('b')?.version, before.get('b')?.version, 'the unchanged Secret was not written');
    assert.equal(after.get('b')?.v, 'b1');
    assert.equal(operator.process.exitCode, null, 'the operator rode it out');
    assert.equal((await waitForReady(ns, 'a', 'True')).reason, 'Synced');
  });

  test('SIGKILL in the middle of syncing 500 definitions: the restart writes only the missing Secrets', async (t) => {
    const ns = await freshNamespace(t);
    const count = 500;
    const paths = 50;
    for (let p = 0; p < paths; p += 1) await putKv2(`secret/${ns}/p${p}`, { v: `value-${p}` });
    const items = Array.from({ length: count }, (_, i) => ({
      apiVersion,
      kind,
      metadata: { name: `d${i}`, namespace: ns },
      spec: { name: `s${i}`, keysMap: { v: { path: `secret/${ns}/p${i % paths}`, key: 'v' } } },
    }));
    await kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    );
    const args = [`--watch-namespaces=${ns}`, '--reconcile-period=30s'];

    // One worker, so the kill lands in the middle.
    const first = await startOperator(t, { args: [...args, '--concurrency=1'] });
    await waitFor(
      'a fifth of the Secrets',
      async () => ((await managedSecrets(ns)).size >= count / 5 ? true : undefined),
      60_000,
      50,
    );
    first.process.kill('SIGKILL');
    await waitFor('the killed operator to be gone', async () =>
      first.process.signalCode ? true : undefined,
    );
    // A write the killed operator had sent may still land: take the count once it stops moving.
    let previous = -1;
    const atKill = await waitFor(
      'the Secrets to stop changing after the kill',
      async () => {
        const now = await managedSecrets(ns);
        const settled = now.size === previous;
        previous = now.size;
        return settled ? now : undefined;
      },
      10_000,
      500,
    );
    t.diagnostic(`${atKill.size} of ${count} Secrets existed when the operator was killed`);
    assert.ok(atKill.size < count, 'the kill landed before the end of the sync');
    for (const [name, secret] of atKill) {
      const i = Number(name.slice(1));
      assert.equal(secret.v, `value-${i % paths}`, `${name} holds complete data`);
    }

    const second = await startOperator(t, { args });
    const startedAt = Date.now();
    await waitFor(
      `all ${count} Secrets`,
      async () => {
        const now = await managedSecrets(ns);
        return now.size === count &&
          [...now].every(([name, s]) => s.v === `value-${Number(name.slice(1)) % paths}`)
          ? true
          : undefined;
      },
      30_000,
      200,
    );
    t.diagnostic(`all ${count} correct ${Date.now() - startedAt}ms after the restart`);
    const final = await managedSecrets(ns);
    for (const [name, secret] of atKill) {
      assert.equal(
        final.get(name)?.version,
        secret.version,
        `${name}, complete before the kill, was not written again`,
      );
    }
    await waitFor('every definition Ready', async () => {
      for (const i of [0, Math.floor(count / 2), count - 1]) {
        const ready = (await readDefinition(ns, `d${i}`)).status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') return undefined;
      }
      return true;
    });
    // A write is counted when it is answered, a moment after the Secret exists.
    const missing = count - atKill.size;
    await waitFor('the restart to count its writes', async () =>
      metricSum(await second.metrics(), 'secrets_manager_secret_writes_total') >= missing ? true : undefined,
    );
    const writes = metricSum(await second.metrics(), 'secrets_manager_secret_writes_total');
    assert.equal(writes, missing, 'the restart wrote exactly the missing Secrets');
  });
});
