// Logging in to Vault: both auth methods sync, short-lived tokens are renewed and replaced without
// a failed sync, and a token revoked from outside is replaced on the next try.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  applyDefinition,
  putKv2,
  readDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import { metricSum } from '../support/metrics.ts';
import { freshNamespace, kubectl, testStack, waitFor } from '../support/stack.ts';

async function logins(operator: RunningOperator): Promise<number> {
  return metricSum(
    await operator.metrics(),
    'secrets_manager_vault_requests_total{operation="login",status="200"}',
  );
}

/** An AppRole with the operator's policy whose tokens live `ttl`, renewable up to `maxTtl`. */
async function shortLivedRole(
  role: string,
  ttl: string,
  maxTtl: string,
): Promise<{ roleId: string; secretId: string }> {
  const { vault } = await testStack();
  await vault.call('POST', `auth/approle/role/${role}`, {
    token_policies: ['secrets-manager'],
    token_ttl: ttl,
    token_max_ttl: maxTtl,
  });
  const roleId = (
    (await vault.call('GET', `auth/approle/role/${role}/role-id`)) as { data: { role_id: string } }
  ).data.role_id;
  const secretId = (
    (await vault.call('POST', `auth/approle/role/${role}/secret-id`)) as { data: { secret_id: string } }
  ).data.secret_id;
  return { roleId, secretId };
}

/** A file holding a token of the secrets-manager service account, as the kubelet mounts one. */
async function operatorTokenFile(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sa-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, await kubectl(['create', 'token', 'secrets-manager', '-n', 'secrets-manager']));
  return tokenFile;
}

describe('vault authentication', () => {
  test('a login Vault refuses is counted in secrets_manager_vault_login_errors_total, as in the original', async (t) => {
    const operator = await startOperator(t, {
      args: ['--watch-namespaces=none'],
      env: { VAULT_SECRET_ID: 'not-a-secret-id' },
    });
    const { state } = await testStack();
    const counted = await waitFor('a counted login error', async () => {
      const value = metricSum(
        await operator.metrics().catch(() => ''),
        `secrets_manager_vault_login_errors_total{vault_address="${state.vault.addr}"`,
      );
      return value >= 1 ? value : undefined;
    });
    assert.ok(counted >= 1);
    assert.ok(!operator.logs().includes('not-a-secret-id'), 'the secret-id never reaches a log line');
  });

  test('a renewal Vault refuses is counted in the renewal errors as renew-self, and a new login follows', async (t) => {
    const ns = await freshNamespace(t);
    const { vault, state } = await testStack();
    const { roleId, secretId } = await shortLivedRole(`renew-${ns}`, '4s', '1h');
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`],
      env: { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId },
    });
    await waitReady(operator);
    const before = await logins(operator);
    // Revoked from outside: the renewal due at about 2/3 of the 4 s lease is refused.
    await vault.call('PUT', `sys/leases/revoke-prefix/auth/approle/login`);
    const renewErrors = (text: string): number =>
      text
        .split('\n')
        .filter(
          (line) =>
            line.startsWith(
              `secrets_manager_vault_token_renewal_errors_total{vault_address="${state.vault.addr}"`,
            ) && line.includes('vault_operation="renew-self",error="UnknownError"}'),
        )
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    await waitFor('a counted renewal error', async () =>
      renewErrors(await operator.metrics()) >= 1 ? true : undefined,
    );
    await waitFor('a new login after the refused renewal', async () =>
      (await logins(operator)) > before ? true : undefined,
    );
  });

  test('Kubernetes auth with the secrets-manager service account syncs', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: 'via-kubernetes' });
    const tokenFile = await operatorTokenFile(t);
    const operator = await startOperator(t, {
      args: [
        `--watch-namespaces=${ns}`,
        '--vault.auth-method=kubernetes',
        '--vault.kubernetes-role=secrets-manager',
        `--vault.kubernetes-token-file=${tokenFile}`,
      ],
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await waitForReady(ns, 'app', 'True');
    assert.deepEqual(await secretData(ns, 'app'), { v: 'via-kubernetes' });
    assert.match(operator.logs(), /"method":"kubernetes"/);
  });

  test('Kubernetes auth at the mount --vault.kubernetes-path names', async (t) => {
    const ns = await freshNamespace(t);
    const { vault, state } = await testStack();
    const mount = `k8s-${ns}`;
    await vault.call('POST', `sys/auth/${mount}`, { type: 'kubernetes' });
    t.after(() => vault.call('DELETE', `sys/auth/${mount}`).catch(() => undefined));
    await vault.call('POST', `auth/${mount}/config`, {
      kubernetes_host: state.kube.server,
      kubernetes_ca_cert: await readFile(state.kube.caFile, 'utf8'),
      token_reviewer_jwt: (
        await kubectl(['create', 'token', 'vault-token-reviewer', '-n', 'kube-system'])
      ).trim(),
      disable_local_ca_jwt: true,
    });
    await vault.call('POST', `auth/${mount}/role/operator`, {
      bound_service_account_names: ['secrets-manager'],
      bound_service_account_namespaces: ['secrets-manager'],
      token_policies: ['secrets-manager'],
    });
    await putKv2(`secret/${ns}/app`, { v: 'via-own-mount' });
    const tokenFile = await operatorTokenFile(t);
    // The role exists only at this mount: a login at the default one would be refused.
    const operator = await startOperator(t, {
      args: [
        `--watch-namespaces=${ns}`,
        '--vault.auth-method=kubernetes',
        `--vault.kubernetes-path=${mount}`,
        '--vault.kubernetes-role=operator',
        `--vault.kubernetes-token-file=${tokenFile}`,
      ],
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await waitForSecretValue(ns, 'app', 'v', 'via-own-mount');
  });

  test('tokens with a 5s TTL and 20s max TTL: 60 seconds of syncing without a failed sync', async (t) => {
    const ns = await freshNamespace(t);
    const { roleId, secretId } = await shortLivedRole(`short-${ns}`, '5s', '20s');
    await putKv2(`secret/${ns}/app`, { counter: 0 });
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`],
      env: { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '1s',
      keysMap: { counter: { path: `secret/${ns}/app`, key: 'counter' } },
    });
    await waitForReady(ns, 'app', 'True');

    const until = Date.now() + 60_000;
    let value = 0;
    while (Date.now() < until) {
      value += 1;
      await putKv2(`secret/${ns}/app`, { counter: value });
      const expected = String(value);
      await waitForSecretValue(ns, 'app', 'counter', expected, 5_000);
      const ready = (await readDefinition(ns, 'app')).status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `sync failed at ${value}: ${ready?.reason} ${ready?.message}`);
    }
    const metrics = await operator.metrics();
    assert.equal(
      metricSum(metrics, `secrets_manager_controller_sync_errors_total{name="app",namespace="${ns}"}`),
      0,
    );
    assert.ok((await logins(operator)) >= 3, 'the token was replaced by new logins as it neared its max TTL');
  });

  test('AppRole from --vault.role-id-file and --vault.secret-id-file at --vault.approle-path: read at each login, so a rotated secret-id is used', async (t) => {
    const ns = await freshNamespace(t);
    const { vault } = await testStack();
    const mount = `approle-${ns}`;
    await vault.call('POST', `sys/auth/${mount}`, { type: 'approle' });
    t.after(() => vault.call('DELETE', `sys/auth/${mount}`).catch(() => undefined));
    await vault.call('POST', `auth/${mount}/role/files`, { token_policies: ['secrets-manager'] });
    const roleId = (
      (await vault.call('GET', `auth/${mount}/role/files/role-id`)) as { data: { role_id: string } }
    ).data.role_id;
    const newSecretId = async (): Promise<string> =>
      (
        (await vault.call('POST', `auth/${mount}/role/files/secret-id`)) as {
          data: { secret_id: string };
        }
      ).data.secret_id;
    const dir = await mkdtemp(join(tmpdir(), 'approle-files-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const first = await newSecretId();
    await writeFile(join(dir, 'role-id'), `${roleId}\n`);
    await writeFile(join(dir, 'secret-id'), `${first}\n`);
    await putKv2(`secret/${ns}/app`, { v: 'one' });
    const operator = await startOperator(t, {
      args: [
        `--watch-namespaces=${ns}`,
        `--vault.approle-path=${mount}`,
        `--vault.role-id-file=${join(dir, 'role-id')}`,
        `--vault.secret-id-file=${join(dir, 'secret-id')}`,
      ],
      // The stack's own AppRole credentials are not offered: only the files can log in.
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '1s',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
    });
    await waitForSecretValue(ns, 'app', 'v', 'one');

    // Rotation: a new secret-id in the file, the old one destroyed, the operator's token revoked.
    await writeFile(join(dir, 'secret-id'), await newSecretId());
    await vault.call('POST', `auth/${mount}/role/files/secret-id/destroy`, { secret_id: first });
    await vault.call('PUT', `sys/leases/revoke-prefix/auth/${mount}/login`);
    await putKv2(`secret/${ns}/app`, { v: 'two' });
    await waitForSecretValue(ns, 'app', 'v', 'two', 10_000);
    assert.equal(await logins(operator), 2, 'one login per secret-id');
    assert.doesNotMatch(operator.logs(), new RegExp(first));
  });

  test('--vault.renew-ttl-increment is the lease asked for at each renewal, and --vault.max-token-ttl is exported as in the original', async (t) => {
    const ns = await freshNamespace(t);
    // Logins give 4s; the role would allow renewals of up to 10 minutes.
    const { roleId, secretId } = await shortLivedRole(`increment-${ns}`, '4s', '10m');
    const operator = await startOperator(t, {
      args: ['--watch-namespaces=none', '--vault.renew-ttl-increment=9', '--vault.max-token-ttl=3'],
      env: { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId },
    });
    await waitReady(operator);
    // A login gives 4s, so more than 5s left can only come from a renewal, which asked for 9s
    // (the 600s default would leave far more).
    const ttl = await waitFor('a token renewed for 9s', async () => {
      const left = metricSum(await operator.metrics(), 'secrets_manager_vault_token_ttl');
      return left > 5 ? left : undefined;
    });
    assert.ok(ttl <= 9, `the token has ${ttl}s left`);
    const metrics = await operator.metrics();
    assert.equal(metricSum(metrics, 'secrets_manager_vault_max_token_ttl'), 3);
  });

  test('a token revoked from outside is replaced on the next read', async (t) => {
    const ns = await freshNamespace(t);
    const { vault } = await testStack();
    await putKv2(`secret/${ns}/app`, { v: 'one' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '1s',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
    });
    await waitForReady(ns, 'app', 'True');
    const before = await logins(operator);

    await vault.call('PUT', 'sys/leases/revoke-prefix/auth/approle/login');
    await putKv2(`secret/${ns}/app`, { v: 'two' });

    await waitForSecretValue(ns, 'app', 'v', 'two', 10_000);
    assert.ok((await logins(operator)) > before);
    const ready = (await readDefinition(ns, 'app')).status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
  });
});
