// --vault.auth-scope namespace on the real stack: each namespace reads with its own Vault identity
// (a Kubernetes-auth login with a token of its own service account), so Vault's policy for that
// namespace, set up by config/samples/setup-vault-tenants.sh, is what limits it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditEntriesSince, auditMark, type AuditEntry } from '../support/audit.ts';
import { mountDatabase, mountPki } from '../support/engines.ts';
import { canLogIn } from '../support/postgres.ts';
import {
  applyDefinition,
  applyPasswordDefinition,
  deleteDefinition,
  putKv2,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, kubectl, testStack, waitFor } from '../support/stack.ts';
import { setupVaultTenants } from '../support/vault-tenants.ts';

const tenantAccount = 'vault-reader';

/** Request paths made with the tokens of `namespace`'s identity. */
function pathsOf(
  entries: readonly AuditEntry[],
  namespace: string,
  type: 'request' | 'response' = 'request',
) {
  return entries
    .filter((e) => e.type === type && e.metadata['service_account_namespace'] === namespace)
    .map((e) => ({ path: e.path, error: e.error }));
}

describe('a Vault identity per namespace', () => {
  test("each namespace reads with its own login; Vault refuses another namespace's path; an emptied namespace's token is revoked", async (t) => {
    const a = await freshNamespace(t, 'tenant-a');
    const b = await freshNamespace(t, 'tenant-b');
    const c = await freshNamespace(t, 'tenant-c');
    for (const ns of [a, b]) await kubectl(['create', 'serviceaccount', tenantAccount, '-n', ns]);
    assert.match(
      await setupVaultTenants([a, b], tenantAccount),
      new RegExp(`namespace ${a}: role ${a}, policy secrets-manager-${a}`),
    );
    await putKv2(`secret/${a}/db`, { password: 'a-pass' });
    await putKv2(`secret/${b}/db`, { password: 'b-pass' });

    const mark = await auditMark();
    const operator = await startOperator(t, {
      args: [
        '--vault.auth-scope=namespace',
        `--vault.tenant-service-account=${tenantAccount}`,
        `--watch-namespaces=${a},${b},${c}`,
      ],
      // The operator's own credentials are not used in this mode.
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyPasswordDefinition(a, 'own', `secret/${a}/db`);
    await applyPasswordDefinition(a, 'steal', `secret/${b}/db`);
    await applyPasswordDefinition(b, 'own', `secret/${b}/db`);
    await applyPasswordDefinition(c, 'own', `secret/${c}/db`);

    await waitForSecretValue(a, 'own', 'p', 'a-pass');
    await waitForSecretValue(b, 'own', 'p', 'b-pass');
    const stolen = await waitForReady(a, 'steal', 'False', 'Forbidden');
    assert.match(stolen.message, new RegExp(`secret/${b}/db`));
    assert.equal(await secretData(a, 'steal'), undefined);
    const missing = await waitForReady(c, 'own', 'False', 'AuthenticationFailed');
    assert.match(
      missing.message,
      new RegExp(
        `service account ${tenantAccount} does not exist in namespace ${c}: create it, or name another with --vault\\.tenant-service-account`,
      ),
    );

    // The namespace b's definition is deleted: b's token is revoked and b's identity dropped.
    await deleteDefinition(b, 'own');
    await waitFor('the log line about the revoked token', async () =>
      operator.logs().includes(`"namespace":"${b}"`) &&
      operator.logs().includes('namespace has no SecretDefinitions left; its Vault token was revoked')
        ? true
        : undefined,
    );
    const entries = await auditEntriesSince(mark);
    const byA = pathsOf(entries, a, 'response');
    const byB = pathsOf(entries, b, 'response');
    assert.ok(
      byA.some((e) => e.path === `secret/data/${a}/db` && e.error === undefined),
      JSON.stringify(byA),
    );
    assert.ok(
      byA.every(
        (e) => !e.path.startsWith(`secret/data/${b}`) || (e.error ?? '').includes('permission denied'),
      ),
      `a's identity read b's secret: ${JSON.stringify(byA)}`,
    );
    assert.ok(
      byB.some((e) => e.path === `secret/data/${b}/db`),
      JSON.stringify(byB),
    );
    assert.ok(
      pathsOf(entries, b).some((e) => e.path === 'auth/token/revoke-self'),
      `b's token was not revoked: ${JSON.stringify(pathsOf(entries, b))}`,
    );
    // Two logins, one per namespace with definitions that could log in; the operator has none of its own.
    const logins = entries.filter((e) => e.type === 'response' && e.path === 'auth/kubernetes/login');
    assert.deepEqual(logins.map((e) => e.metadata['service_account_namespace']).sort(), [a, b].sort());
    assert.equal(await operator.stop(), 0);
  });

  test('a tenant issues from its own PKI and database roles only; its lease is revoked after its last definition goes, then its token', async (t) => {
    const a = await freshNamespace(t, 'tenant-issue-a');
    const b = await freshNamespace(t, 'tenant-issue-b');
    for (const ns of [a, b]) await kubectl(['create', 'serviceaccount', tenantAccount, '-n', ns]);
    const pki = `pki-${a}`;
    const database = `db-${a}`;
    await mountPki(pki, `${a}.svc`, a);
    const { vault } = await testStack();
    await vault.call('POST', `${pki}/roles/${b}`, { allowed_domains: [`${b}.svc`], allow_subdomains: true });
    await mountDatabase(database, { defaultTtl: '1h', maxTtl: '2h' }, [a, b]);
    await setupVaultTenants([a, b], tenantAccount, { pki, database });

    const mark = await auditMark();
    const operator = await startOperator(t, {
      args: [
        '--vault.auth-scope=namespace',
        `--vault.tenant-service-account=${tenantAccount}`,
        `--watch-namespaces=${a},${b}`,
      ],
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyDefinition(a, 'cert', {
      name: 'cert',
      pki: { path: `${pki}/issue/${a}`, commonName: `web.${a}.svc` },
    });
    await applyDefinition(a, 'steal-cert', {
      name: 'steal-cert',
      pki: { path: `${pki}/issue/${b}`, commonName: `web.${b}.svc` },
    });
    await applyDefinition(a, 'db', { name: 'db', dynamic: { path: `${database}/creds/${a}` } });
    await applyDefinition(a, 'steal-db', { name: 'steal-db', dynamic: { path: `${database}/creds/${b}` } });

    await waitForReady(a, 'cert', 'True');
    assert.match((await secretData(a, 'cert'))?.['tls.crt'] ?? '', /BEGIN CERTIFICATE/);
    for (const name of ['steal-cert', 'steal-db']) {
      const refused = await waitForReady(a, name, 'False', 'Forbidden');
      assert.match(refused.message, new RegExp(`does not allow issuing at (${pki}|${database})/`));
      assert.equal(await secretData(a, name), undefined);
    }
    const held = await waitFor('credentials in Secret db', async () => {
      const data = await secretData(a, 'db');
      return data?.['username'] && data['password']
        ? { user: data['username'], password: data['password'] }
        : undefined;
    });
    assert.ok(await canLogIn(held));

    // Its last definitions go: the lease is revoked with the namespace's identity, then its token.
    for (const name of ['cert', 'steal-cert', 'steal-db', 'db']) await deleteDefinition(a, name);
    await waitFor(
      "the deleted definition's user to stop working",
      async () => ((await canLogIn(held)) ? undefined : true),
      20_000,
    );
    await waitFor("a's token to be revoked", async () =>
      pathsOf(await auditEntriesSince(mark), a).some((e) => e.path === 'auth/token/revoke-self')
        ? true
        : undefined,
    );
    const byA = pathsOf(await auditEntriesSince(mark), a, 'response');
    assert.ok(
      byA.some(
        (e) => e.path.startsWith(`sys/leases/revoke/${database}/creds/${a}/`) && e.error === undefined,
      ),
      JSON.stringify(byA),
    );
    assert.equal(await operator.stop(), 0);
  });

  test("--vault.tenant-role and --vault.kubernetes-audience choose the role and the audience of each namespace's login", async (t) => {
    const ns = await freshNamespace(t, 'tenant-role');
    const { vault } = await testStack();
    await kubectl(['create', 'serviceaccount', tenantAccount, '-n', ns]);
    await vault.call('PUT', `sys/policies/acl/team-${ns}`, {
      policy: `path "secret/data/${ns}/*" { capabilities = ["read"] }`,
    });
    // Only this role, and only tokens for this audience, log in.
    await vault.call('POST', `auth/kubernetes/role/team-${ns}`, {
      bound_service_account_names: [tenantAccount],
      bound_service_account_namespaces: [ns],
      token_policies: [`team-${ns}`],
      audience: 'vault-tenants',
      token_ttl: '15m',
    });
    await putKv2(`secret/${ns}/db`, { password: 'team-pass' });
    const operator = await startOperator(t, {
      args: [
        '--vault.auth-scope=namespace',
        `--vault.tenant-service-account=${tenantAccount}`,
        '--vault.tenant-role=team-{namespace}',
        '--vault.kubernetes-audience=vault-tenants',
        `--watch-namespaces=${ns}`,
      ],
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyPasswordDefinition(ns, 'own', `secret/${ns}/db`);
    await waitForSecretValue(ns, 'own', 'p', 'team-pass');
  });
});
