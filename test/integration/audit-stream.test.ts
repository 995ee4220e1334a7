// Vault changes followed in a second through OpenBao's socket audit device (--vault.audit-listen),
// with a 10-minute refresh interval so that only the stream can explain a quick follow; each change
// costs exactly one read (counted in OpenBao's file audit log), and polling stays the safety net.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { auditEntriesSince, auditMark, dedicatedAppRole } from '../support/audit.ts';
import { metricSum } from '../support/metrics.ts';
import {
  applyDefinition,
  putKv1,
  putKv2,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import {
  freshNamespace,
  kubectl,
  startStackDaemon,
  stopStackDaemon,
  testStack,
  waitFor,
} from '../support/stack.ts';
import { setupVaultTenants } from '../support/vault-tenants.ts';

/** Reads of `path` made with `role`'s tokens since `mark`. */
async function readsSince(mark: number, role: string, path: string): Promise<number> {
  return (await auditEntriesSince(mark)).filter(
    (e) => e.type === 'request' && e.role === role && e.path === path && e.operation === 'read',
  ).length;
}

async function waitConnected(operator: RunningOperator, up: boolean): Promise<void> {
  await waitFor(`the audit stream ${up ? 'connected' : 'gone'}`, async () =>
    metricSum(await operator.metrics(), 'secrets_manager_vault_audit_stream_connected') === (up ? 1 : 0)
      ? true
      : undefined,
  );
}

describe("Vault's audit stream", () => {
  test('KV v2 and v1 writes, a delete and an undelete are each followed within 2s with one read; unused paths cost none; garbage is dropped', async (t) => {
    const ns = await freshNamespace(t, 'stream');
    const { state, vault } = await testStack();
    await putKv2(`secret/${ns}/app`, { v: 'one' });
    await putKv1(`kv/${ns}/app`, { v: 'one' });
    const role = `stream-${ns}`;
    const credentials = await dedicatedAppRole(role);
    const operator = await startOperator(t, {
      args: [
        `--watch-namespaces=${ns}`,
        '--reconcile-period=10m',
        `--vault.audit-listen=${state.vault.auditSocketAddr}`,
      ],
      env: { VAULT_ROLE_ID: credentials.roleId, VAULT_SECRET_ID: credentials.secretId },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'v2', { name: 'v2', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await applyDefinition(ns, 'v1', { name: 'v1', keysMap: { v: { path: `kv/${ns}/app`, key: 'v' } } });
    await waitForSecretValue(ns, 'v2', 'v', 'one');
    await waitForSecretValue(ns, 'v1', 'v', 'one');
    // OpenBao connects at its next audit write, the operator's own reads included.
    await waitConnected(operator, true);

    const changes: [string, () => Promise<void>, () => Promise<void>, string][] = [
      [
        'a KV v2 write',
        () => putKv2(`secret/${ns}/app`, { v: 'two' }),
        () => waitForSecretValue(ns, 'v2', 'v', 'two', 2_000),
        `secret/data/${ns}/app`,
      ],
      [
        'a KV v1 write',
        () => putKv1(`kv/${ns}/app`, { v: 'two' }),
        () => waitForSecretValue(ns, 'v1', 'v', 'two', 2_000),
        `kv/${ns}/app`,
      ],
      [
        'a delete of the current version',
        async () => void (await vault.call('DELETE', `secret/data/${ns}/app`)),
        async () => void (await waitForReady(ns, 'v2', 'False', 'PathNotFound', 2_000)),
        `secret/data/${ns}/app`,
      ],
      [
        'an undelete',
        async () => void (await vault.call('POST', `secret/undelete/${ns}/app`, { versions: [2] })),
        async () => void (await waitForReady(ns, 'v2', 'True', undefined, 2_000)),
        `secret/data/${ns}/app`,
      ],
    ];
    for (const [what, change, followed, readPath] of changes) {
      const mark = await auditMark();
      await change();
      await followed();
      assert.equal(await readsSince(mark, role, readPath), 1, `${what}: one read`);
    }
    assert.equal((await waitForReady(ns, 'v2', 'True')).reason, 'Synced');
    assert.equal((await secretData(ns, 'v2'))?.['v'], 'two', 'the Secret kept its data through the delete');

    // A path no definition reads: no read at all.
    const quiet = await auditMark();
    await putKv2(`secret/${ns}/unused`, { v: 'x' });
    await putKv2(`secret/${ns}/app`, { v: 'three' });
    await waitForSecretValue(ns, 'v2', 'v', 'three', 2_000);
    assert.equal(await readsSince(quiet, role, `secret/data/${ns}/unused`), 0);

    // Garbage on the port: counted and dropped; the stream from OpenBao goes on.
    const [host, port] = state.vault.auditSocketAddr.split(':');
    const stranger = connect(Number(port), host);
    await new Promise((resolve) => stranger.once('connect', resolve));
    stranger.end('this is not an audit entry\n{"type":"response"}\n');
    await waitFor('garbage counted', async () =>
      metricSum(
        await operator.metrics(),
        'secrets_manager_vault_audit_entries_dropped_total{reason="unparsable"}',
      ) >= 2
        ? true
        : undefined,
    );
    await putKv2(`secret/${ns}/app`, { v: 'four' });
    await waitForSecretValue(ns, 'v2', 'v', 'four', 2_000);
    assert.ok(metricSum(await operator.metrics(), 'secrets_manager_vault_audit_rereads_total') >= 5);
  });

  test('OpenBao keeps answering without a listener; a restart of OpenBao drops the stream, polling goes on, and the stream comes back', async (t) => {
    const ns = await freshNamespace(t, 'stream-back');
    const { state } = await testStack();
    // Nothing listens on the socket device's port now: OpenBao answers all the same (its file device writes).
    await putKv2(`secret/${ns}/app`, { v: 'one' });
    const operator = await startOperator(t, {
      args: [
        `--watch-namespaces=${ns}`,
        '--reconcile-period=3s',
        `--vault.audit-listen=${state.vault.auditSocketAddr}`,
      ],
    });
    await waitReady(operator);
    await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await waitForSecretValue(ns, 'app', 'v', 'one');
    await waitConnected(operator, true);

    await stopStackDaemon('openbao');
    await waitConnected(operator, false);
    assert.match(
      operator.logs(),
      /the Vault audit stream is gone: changes wait for polling until it is back/,
    );
    await startStackDaemon('openbao');
    // Polling brings the change (the stream may not be back yet), and the stream reconnects.
    await putKv2(`secret/${ns}/app`, { v: 'two' });
    await waitForSecretValue(ns, 'app', 'v', 'two', 15_000);
    await waitConnected(operator, true);
  });

  test('in namespace scope a change is read again with the identity of the namespace that polls it', async (t) => {
    const a = await freshNamespace(t, 'stream-ns');
    await kubectl(['create', 'serviceaccount', 'vault-reader', '-n', a]);
    await setupVaultTenants([a], 'vault-reader');
    const { state } = await testStack();
    await putKv2(`secret/${a}/app`, { v: 'one' });
    const operator = await startOperator(t, {
      args: [
        '--vault.auth-scope=namespace',
        '--vault.tenant-service-account=vault-reader',
        `--watch-namespaces=${a}`,
        '--reconcile-period=10m',
        `--vault.audit-listen=${state.vault.auditSocketAddr}`,
      ],
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyDefinition(a, 'app', { name: 'app', keysMap: { v: { path: `secret/${a}/app`, key: 'v' } } });
    await waitForSecretValue(a, 'app', 'v', 'one');
    await waitConnected(operator, true);
    const mark = await auditMark();
    await putKv2(`secret/${a}/app`, { v: 'two' });
    await waitForSecretValue(a, 'app', 'v', 'two', 2_000);
    const reads = (await auditEntriesSince(mark)).filter(
      (e) => e.type === 'request' && e.path === `secret/data/${a}/app` && e.operation === 'read',
    );
    assert.deepEqual(
      reads.map((e) => e.metadata['service_account_namespace']),
      [a],
      "one read, with the namespace's own identity",
    );
  });
});
