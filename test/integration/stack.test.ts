// The test stack is real: each test exercises a behaviour only a real apiserver, controller
// manager, OpenBao or PostgreSQL has, so a fake could not pass it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { operatorIdentity } from '../harness/kube.ts';
import { stackEnv } from '../harness/stack.ts';
import { canLogIn, query } from '../support/postgres.ts';
import {
  freshNamespace,
  kubectl,
  startStackDaemon,
  statusOf,
  stopStackDaemon,
  testStack,
  vaultRequest,
  waitFor,
} from '../support/stack.ts';

async function isGone(read: () => Promise<unknown>): Promise<true | undefined> {
  try {
    await read();
    return undefined;
  } catch (error) {
    if (statusOf(error) === 404) return true;
    throw error;
  }
}

function clientToken(json: Record<string, unknown>): string {
  const token = (json['auth'] as { client_token?: unknown } | undefined)?.client_token;
  assert.equal(typeof token, 'string', 'login answered no auth.client_token');
  return token as string;
}

describe('kubernetes', () => {
  test('the apiserver serves /readyz with the admin credential', async () => {
    assert.equal((await kubectl(['get', '--raw', '/readyz'])).trim(), 'ok');
  });

  test('the apiserver reports the pinned Kubernetes version, not v0.0.0', async () => {
    const version = JSON.parse(await kubectl(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
      clientVersion: { gitVersion: string };
    };
    assert.match(version.serverVersion.gitVersion, /^v1\.3\d+\.\d+$/);
    assert.equal(version.clientVersion.gitVersion, version.serverVersion.gitVersion);
  });

  test('a CustomResourceDefinition becomes Established and serves its resource', async (t) => {
    const { kubeConfig } = await testStack();
    const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
    const group = `g${randomBytes(3).toString('hex')}.harness.test`;
    const name = `widgets.${group}`;
    await extensions.createCustomResourceDefinition({
      body: {
        metadata: { name },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });
    t.after(() => extensions.deleteCustomResourceDefinition({ name }).catch(() => undefined));

    await waitFor('the CRD to become Established', async () => {
      const crd = await extensions.readCustomResourceDefinition({ name });
      return (
        crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') || undefined
      );
    });
    const namespace = await freshNamespace(t);
    // Established can come before discovery lists the new group; an apply is safe to repeat.
    await waitFor('kubectl to apply a Widget', () =>
      kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace } }),
      ),
    );
    assert.equal(
      (await kubectl(['get', `widgets.${group}`, 'w1', '-n', namespace, '-o', 'name'])).trim(),
      `widget.${group}/w1`,
    );
  });

  test('deleting a namespace completes: the namespace controller empties and removes it', async () => {
    const { core } = await testStack();
    const name = `doomed-${randomBytes(4).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name } } });
    await core.createNamespacedConfigMap({
      namespace: name,
      body: { metadata: { name: 'content' }, data: { a: 'b' } },
    });
    await core.deleteNamespace({ name });
    await waitFor('the namespace to disappear', () => isGone(() => core.readNamespace({ name })), 60_000);
  });

  test('an object owned by another is garbage-collected when its owner is deleted', async (t) => {
    const { core } = await testStack();
    const namespace = await freshNamespace(t);
    const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
    const uid = owner.metadata?.uid;
    assert.ok(uid, 'the created owner has a uid');
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name: 'dependant',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }],
        },
        stringData: { k: 'v' },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace, name: 'owner', propagationPolicy: 'Background' });
    await waitFor(
      'the dependant Secret to be collected',
      () => isGone(() => core.readNamespacedSecret({ namespace, name: 'dependant' })),
      60_000,
    );
  });
});

describe('openbao', () => {
  test('a token of the secrets-manager service account logs in through Kubernetes auth', async () => {
    const jwt = (
      await kubectl(['create', 'token', operatorIdentity.serviceAccount, '-n', operatorIdentity.namespace])
    ).trim();
    const login = await vaultRequest('POST', 'auth/kubernetes/login', {
      body: { role: 'secrets-manager', jwt },
    });
    assert.equal(login.status, 200, JSON.stringify(login.json['errors']));
    const policies = (login.json['auth'] as { policies?: string[] }).policies ?? [];
    assert.ok(policies.includes('secrets-manager'), `policies were ${policies.join(',')}`);
    assert.ok(clientToken(login.json).length > 0);
  });

  test('a token of another service account is refused by Kubernetes auth', async (t) => {
    const namespace = await freshNamespace(t);
    await kubectl(['create', 'serviceaccount', 'secrets-manager', '-n', namespace]);
    const jwt = (await kubectl(['create', 'token', 'secrets-manager', '-n', namespace])).trim();
    const login = await vaultRequest('POST', 'auth/kubernetes/login', {
      body: { role: 'secrets-manager', jwt },
    });
    assert.equal(login.status, 403);
    assert.equal(login.json['auth'], undefined);
  });

  test('AppRole login works and its token reads KV v2 and KV v1 but nothing outside the policy', async () => {
    const { state, vault } = await testStack();
    const id = randomBytes(4).toString('hex');
    await vault.call('POST', `secret/data/harness/${id}`, { data: { password: 'v2-value', port: 5432 } });
    await vault.call('POST', `kv/harness/${id}`, { password: 'v1-value' });
    await vault.call('POST', `sys/mounts/private-${id}`, { type: 'kv', options: { version: '1' } });
    await vault.call('POST', `private-${id}/thing`, { password: 'not-for-you' });

    const login = await vaultRequest('POST', 'auth/approle/login', {
      body: { role_id: state.vault.approle.roleId, secret_id: state.vault.approle.secretId },
    });
    assert.equal(login.status, 200);
    const token = clientToken(login.json);

    const v2 = await vaultRequest('GET', `secret/data/harness/${id}`, { token });
    assert.equal(v2.status, 200);
    assert.deepEqual((v2.json['data'] as { data: unknown }).data, { password: 'v2-value', port: 5432 });

    const v1 = await vaultRequest('GET', `kv/harness/${id}`, { token });
    assert.equal(v1.status, 200);
    assert.deepEqual(v1.json['data'], { password: 'v1-value' });

    assert.equal((await vaultRequest('GET', `private-${id}/thing`, { token })).status, 403);
    assert.equal(
      (await vaultRequest('POST', `secret/data/harness/${id}`, { token, body: { data: {} } })).status,
      403,
    );
  });

  test('a wrong AppRole secret-id is refused', async () => {
    const { state } = await testStack();
    const login = await vaultRequest('POST', 'auth/approle/login', {
      body: { role_id: state.vault.approle.roleId, secret_id: 'not-the-secret-id' },
    });
    assert.notEqual(login.status, 200);
    assert.equal(login.json['auth'], undefined);
  });

  test('OpenBao stopped and started again keeps its data and comes back unsealed', async () => {
    const { vault } = await testStack();
    const id = randomBytes(4).toString('hex');
    await vault.call('POST', `secret/data/harness/${id}`, { data: { survives: 'restart' } });

    await stopStackDaemon('openbao');
    await assert.rejects(vaultRequest('GET', 'sys/health'), 'OpenBao is really down while stopped');
    await startStackDaemon('openbao');

    const read = (await vault.call('GET', `secret/data/harness/${id}`)) as { data: { data: unknown } };
    assert.deepEqual(read.data.data, { survives: 'restart' });
    const { state } = await testStack();
    const login = await vaultRequest('POST', 'auth/approle/login', {
      body: { role_id: state.vault.approle.roleId, secret_id: state.vault.approle.secretId },
    });
    assert.equal(login.status, 200, 'AppRole configuration survived the restart');
  });
});

describe('postgresql', () => {
  test('the superuser logs in at POSTGRES_URL with its password, and only with it', async () => {
    const { state } = await testStack();
    const { POSTGRES_URL: url = '', POSTGRES_USER: user = '' } = stackEnv(state);
    assert.deepEqual(await query<{ one: number }>('select 1 as one', [], url), [{ one: 1 }]);
    assert.equal(await canLogIn({ user, password: 'not-the-password' }), false);
  });
});
