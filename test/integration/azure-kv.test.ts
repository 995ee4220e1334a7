// --backend azure-kv end to end on the real Kubernetes stack, through the official Azure SDKs,
// against the Azure stand-in of test/harness/azure.ts (Entra ID and the Key Vault data plane at
// their real host names, reached through HTTPS_PROXY). What the stand-in cannot prove: see the
// docs/azure-key-vault.md.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  entraHost,
  privateCloud,
  startFakeAzure,
  type FakeAzure,
  type FakeAzureOptions,
} from '../harness/azure.ts';
import { http } from '../harness/http.ts';
import { metricSum } from '../support/metrics.ts';
import {
  applyDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import { freshNamespace, kubectl, waitFor } from '../support/stack.ts';

async function fakeAzure(t: TestContext, options: FakeAzureOptions = {}): Promise<FakeAzure> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-azure-'));
  const fake = await startFakeAzure(dir, options);
  t.after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  return fake;
}

/** The process environment that sends the SDKs to the stand-in; nothing of the operator's own changes. */
function through(fake: FakeAzure): Record<string, string> {
  return {
    HTTPS_PROXY: fake.proxyUrl,
    NODE_EXTRA_CA_CERTS: fake.caFile,
    VAULT_ROLE_ID: '',
    VAULT_SECRET_ID: '',
  };
}

async function servicePrincipalOperator(
  t: TestContext,
  fake: FakeAzure,
  ns: string,
  args: readonly string[] = [],
): Promise<RunningOperator> {
  return startOperator(t, {
    args: ['--backend=azure-kv', `--watch-namespaces=${ns}`, ...args],
    env: {
      ...through(fake),
      AZURE_KV_NAME: fake.vaultName,
      AZURE_TENANT_ID: fake.tenantId,
      AZURE_CLIENT_ID: fake.servicePrincipal.clientId,
      AZURE_CLIENT_SECRET: fake.servicePrincipal.clientSecret,
    },
  });
}

describe('Azure Key Vault', () => {
  test("a service principal syncs the original's way (whole values), JSON fields, pinned versions and rotations", async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    const first = fake.setSecret('db-password', 'hunter2');
    fake.setSecret('db-password', 'hunter3');
    fake.setSecret(
      'db-config',
      JSON.stringify({ user: 'app', host: 'db.internal', port: 5432 }),
      'application/json',
    );
    // JSON stored without the JSON content type: whole, as the original read it.
    fake.setSecret('registry', '{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}}}');
    const operator = await servicePrincipalOperator(t, fake, ns);
    await waitReady(operator);
    await applyDefinition(ns, 'db', {
      name: 'db',
      refreshInterval: '1s',
      keysMap: {
        password: { path: 'db-password', key: 'value' },
        previous: { path: 'db-password', key: 'anything', version: first },
        user: { path: 'db-config', key: 'user' },
        port: { path: 'db-config', key: 'port' },
        '.dockerconfigjson': { path: 'registry', key: 'value' },
      },
    });
    await waitForReady(ns, 'db', 'True');
    assert.deepEqual(await secretData(ns, 'db'), {
      password: 'hunter3',
      previous: 'hunter2',
      user: 'app',
      port: '5432',
      '.dockerconfigjson': '{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}}}',
    });

    fake.setSecret('db-password', 'hunter4');
    await waitForSecretValue(ns, 'db', 'password', 'hunter4', 10_000);
    assert.equal((await secretData(ns, 'db'))?.['previous'], 'hunter2', 'the pinned version stays');

    // One read of db-config per interval, for its two keys: ten more reads take five intervals.
    const before = fake.reads('db-config');
    const started = Date.now();
    await waitFor(
      'ten more reads of db-config',
      async () => (fake.reads('db-config') - before >= 10 ? true : undefined),
      20_000,
    );
    assert.ok((Date.now() - started) / 1000 >= 8, 'db-config was read at most once a second');
    // No value or credential anywhere a user or a scraper can read.
    const places = [
      operator.logs(),
      await operator.metrics(),
      await kubectl(['get', 'events', '-n', ns, '-o', 'json']),
      await kubectl(['get', 'secretdefinitions', '-n', ns, '-o', 'json']),
    ].join('\n');
    assert.ok(!places.includes(fake.servicePrincipal.clientSecret), 'the client secret leaked');
    assert.doesNotMatch(places, /hunter|dXNlcjpwYXNz/);
  });

  test("a missing secret, a forbidden one and a missing JSON field: the reasons and the original's read-error counter", async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    fake.setSecret('private', 'top-secret-4242');
    fake.forbid('private');
    fake.setSecret('config', JSON.stringify({ a: '1' }), 'application/json');
    const operator = await servicePrincipalOperator(t, fake, ns);
    await waitReady(operator);
    await applyDefinition(ns, 'missing', { name: 'missing', keysMap: { v: { path: 'nope', key: 'value' } } });
    await applyDefinition(ns, 'denied', {
      name: 'denied',
      keysMap: { v: { path: 'private', key: 'value' } },
    });
    await applyDefinition(ns, 'field', { name: 'field', keysMap: { v: { path: 'config', key: 'b' } } });
    await applyDefinition(ns, 'vaultish', {
      name: 'vaultish',
      keysMap: { v: { path: 'secret/app', key: 'v' } },
    });
    const missing = await waitForReady(ns, 'missing', 'False', 'PathNotFound');
    assert.match(missing.message, /Key Vault secret nope in fake-kv was not found \(SecretNotFound\)/);
    const denied = await waitForReady(ns, 'denied', 'False', 'Forbidden');
    assert.match(denied.message, /may not read Key Vault secret private/);
    const field = await waitForReady(ns, 'field', 'False', 'KeyNotFound');
    assert.match(field.message, /key "b" not found at Key Vault secret config/);
    const vaultish = await waitForReady(ns, 'vaultish', 'False', 'InvalidSpec');
    assert.match(vaultish.message, /is not an Azure Key Vault secret name/);

    const labels = `azure_kv_name="fake-kv",azure_kv_tenant="${fake.tenantId}"`;
    const metrics = await waitFor('the read errors counted', async () => {
      const text = await operator.metrics();
      return metricSum(text, `secrets_manager_azure_kv_read_secret_errors_total{${labels},path="private"`) >=
        1
        ? text
        : undefined;
    });
    for (const [path, key, error] of [
      ['nope', 'value', 'BackendSecretNotFoundError'],
      ['private', 'value', 'BackendSecretForbiddenError'],
      ['config', 'b', 'BackendSecretNotFoundError'],
    ]) {
      assert.ok(
        metricSum(
          metrics,
          `secrets_manager_azure_kv_read_secret_errors_total{${labels},path="${path}",key="${key}",error="${error}"}`,
        ) >= 1,
        `${path} ${key} ${error}`,
      );
    }
    assert.doesNotMatch(metrics, /secrets_manager_vault_read_secret_errors_total\{/);
    const events = await kubectl(['get', 'events', '-n', ns, '-o', 'json']);
    assert.doesNotMatch(operator.logs() + metrics + events, /top-secret-4242/);
  });

  test('the access policy keeps each namespace to its exact names, and a refused name costs no Key Vault read', async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    fake.setSecret(`${ns}-db`, 'mine');
    fake.setSecret('payments-db', 'theirs');
    const dir = await mkdtemp(join(tmpdir(), 'azure-policy-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, "- { namespaces: ['*'], paths: ['{namespace}-db'] }\n");
    const operator = await servicePrincipalOperator(t, fake, ns, [`--access-policy=${policyFile}`]);
    await waitReady(operator);
    await applyDefinition(ns, 'mine', { name: 'mine', keysMap: { v: { path: `${ns}-db`, key: 'value' } } });
    await applyDefinition(ns, 'theirs', {
      name: 'theirs',
      keysMap: { v: { path: 'payments-db', key: 'value' } },
    });
    await waitForReady(ns, 'mine', 'True');
    const refused = await waitForReady(ns, 'theirs', 'False', 'PathNotAllowed');
    assert.match(refused.message, new RegExp(`lets namespace ${ns} read Key Vault secret payments-db`));
    assert.equal(fake.reads('payments-db'), 0);
    assert.deepEqual(await secretData(ns, 'mine'), { v: 'mine' });
  });

  test('AKS workload identity: a federated token file, read at login', async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    fake.setSecret('api-key', 'k-123');
    const dir = await mkdtemp(join(tmpdir(), 'azure-token-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, 'azure-identity-token');
    await writeFile(tokenFile, fake.workloadIdentity.federatedToken);
    const operator = await startOperator(t, {
      args: ['--backend=azure-kv', `--watch-namespaces=${ns}`, `--azure-kv.name=${fake.vaultName}`],
      env: {
        ...through(fake),
        AZURE_TENANT_ID: fake.tenantId,
        AZURE_CLIENT_ID: fake.workloadIdentity.clientId,
        AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'api', { name: 'api', keysMap: { key: { path: 'api-key', key: 'value' } } });
    await waitForReady(ns, 'api', 'True');
    assert.deepEqual(await secretData(ns, 'api'), { key: 'k-123' });
    assert.match(operator.logs(), /"method":"workload-identity"/);
    assert.doesNotMatch(
      operator.logs(),
      new RegExp(fake.workloadIdentity.federatedToken.split('.')[1] ?? 'x'),
    );
  });

  test('a managed identity, by client ID and by resource ID, logs in at the instance metadata endpoint', async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    fake.setSecret('api-key', 'from-managed-identity');
    const identities = [
      ['--azure-kv.managed-client-id', fake.managedIdentity.clientId, 'client_id'],
      ['--azure-kv.managed-resource-id', fake.managedIdentity.resourceId, 'msi_res_id'],
    ] as const;
    for (const [flag, id, parameter] of identities) {
      const mark = fake.requests.length;
      const operator = await startOperator(t, {
        args: [
          '--backend=azure-kv',
          `--watch-namespaces=${ns}`,
          `--azure-kv.name=${fake.vaultName}`,
          `${flag}=${id}`,
        ],
        env: through(fake),
      });
      await waitReady(operator);
      // A definition of its own each time: the first one's Secret must not answer for the second.
      const name = `api-${parameter.replaceAll('_', '-')}`;
      await applyDefinition(ns, name, { name, keysMap: { key: { path: 'api-key', key: 'value' } } });
      await waitForReady(ns, name, 'True');
      assert.deepEqual(await secretData(ns, name), { key: 'from-managed-identity' });
      const asked = fake.requests.slice(mark).filter((r) => r.host === 'imds' && r.status === 200);
      assert.ok(
        asked.some((r) => new URL(r.path, 'http://imds').searchParams.get(parameter) === id),
        `IMDS was asked with ${parameter}: ${asked.map((r) => r.path).join(', ')}`,
      );
      await operator.stop();
    }
  });

  test('Azure China through --azure-kv.url: tokens from its own Entra authority, for its own vault domain', async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    fake.setSecret('api-key', 'from-china');
    const operator = await startOperator(t, {
      args: [
        '--backend=azure-kv',
        `--watch-namespaces=${ns}`,
        `--azure-kv.url=https://${fake.vaultName}.vault.azure.cn`,
      ],
      env: {
        ...through(fake),
        AZURE_TENANT_ID: fake.tenantId,
        AZURE_CLIENT_ID: fake.servicePrincipal.clientId,
        AZURE_CLIENT_SECRET: fake.servicePrincipal.clientSecret,
      },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'api', { name: 'api', keysMap: { key: { path: 'api-key', key: 'value' } } });
    await waitForReady(ns, 'api', 'True');
    assert.deepEqual(await secretData(ns, 'api'), { key: 'from-china' });
    const reads = fake.requests.filter((r) => r.status === 200 && r.path.startsWith('/secrets/api-key'));
    assert.deepEqual([...new Set(reads.map((r) => r.host))], [`${fake.vaultName}.vault.azure.cn`]);
    const logins = fake.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token') && r.status === 200);
    // MSAL sends China's logins to the authority's alias, as it does in Azure.
    assert.deepEqual([...new Set(logins.map((r) => r.host))], ['login.partner.microsoftonline.cn']);
  });

  test('a private cloud whose authority the public cloud cannot reach: refused without --azure-kv.disable-instance-discovery, synced with it, by service principal and workload identity', async (t) => {
    const ns = await freshNamespace(t);
    // An air-gapped network: login.microsoftonline.com and every public host are out of reach.
    const fake = await fakeAzure(t, { publicCloudReachable: false });
    fake.setSecret('api-key', 'from-the-private-cloud');
    const dir = await mkdtemp(join(tmpdir(), 'azure-token-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, 'azure-identity-token');
    await writeFile(tokenFile, fake.workloadIdentity.federatedToken);
    const cloud = [
      '--backend=azure-kv',
      `--watch-namespaces=${ns}`,
      `--azure-kv.url=https://${fake.vaultName}.${privateCloud.vaultDomain}`,
      `--azure-kv.authority-host=${privateCloud.authorityHost}`,
    ];
    const servicePrincipal = {
      ...through(fake),
      AZURE_TENANT_ID: fake.tenantId,
      AZURE_CLIENT_ID: fake.servicePrincipal.clientId,
      AZURE_CLIENT_SECRET: fake.servicePrincipal.clientSecret,
    };
    const publicAsked = (since: number): number =>
      fake.requests.slice(since).filter((r) => r.host === entraHost).length;

    // As a new user would try it: MSAL asks the public cloud about the authority, and cannot.
    const refused = await startOperator(t, { args: cloud, env: servicePrincipal });
    await waitFor('a counted login error', async () =>
      metricSum(await refused.metrics().catch(() => ''), 'secrets_manager_azure_kv_login_errors_total') >= 1
        ? true
        : undefined,
    );
    assert.match(refused.logs(), /endpoints_resolution_error/);
    assert.ok(publicAsked(0) >= 1, 'the login tried the public cloud');
    assert.equal(fake.reads('api-key'), 0);
    await refused.stop();

    const logins = [
      { method: 'service-principal', env: servicePrincipal },
      {
        method: 'workload-identity',
        env: {
          ...through(fake),
          AZURE_TENANT_ID: fake.tenantId,
          AZURE_CLIENT_ID: fake.workloadIdentity.clientId,
          AZURE_FEDERATED_TOKEN_FILE: tokenFile,
        },
      },
    ];
    for (const { method, env } of logins) {
      const mark = fake.requests.length;
      const operator = await startOperator(t, {
        args: [...cloud, '--azure-kv.disable-instance-discovery'],
        env,
      });
      await waitReady(operator);
      const name = `api-${method}`;
      await applyDefinition(ns, name, { name, keysMap: { key: { path: 'api-key', key: 'value' } } });
      await waitForReady(ns, name, 'True');
      assert.deepEqual(await secretData(ns, name), { key: 'from-the-private-cloud' }, method);
      assert.equal(publicAsked(mark), 0, `${method}: nothing asked of the public cloud`);
      const tokens = fake.requests
        .slice(mark)
        .filter((r) => r.path.endsWith('/oauth2/v2.0/token') && r.status === 200);
      assert.deepEqual([...new Set(tokens.map((r) => r.host))], [new URL(privateCloud.authorityHost).host]);
      await operator.stop();
    }
  });

  test('--azure-kv.qps and --azure-kv.burst pace the Key Vault reads', async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    const names = ['s1', 's2', 's3', 's4', 's5'];
    for (const name of names) fake.setSecret(name, `value-${name}`);
    // All five wait for the operator, so their reads are due at once and only the pacing spaces them.
    for (const name of names)
      await applyDefinition(ns, name, { name, keysMap: { v: { path: name, key: 'value' } } });
    const operator = await servicePrincipalOperator(t, fake, ns, ['--azure-kv.qps=2', '--azure-kv.burst=1']);
    await waitReady(operator);
    for (const name of names) await waitForReady(ns, name, 'True');
    const reads = fake.requests
      .filter((r) => r.status === 200 && r.path.startsWith('/secrets/'))
      .map((r) => r.at)
      .sort((a, b) => a - b);
    assert.equal(reads.length, names.length, 'one read per secret');
    // Five reads at 2 per second after a burst of 1 leave the operator 2 s apart; unpaced they
    // take about 200 ms. They are timed where the stand-in receives them, and the first one may
    // also open the TLS connection (119 ms late once on a loaded machine), so 1.5 s is the bound.
    const span = (reads.at(-1) ?? 0) - (reads[0] ?? 0);
    assert.ok(span >= 1_500, `five reads within ${span}ms: faster than 2 per second`);
  });

  test('a login Entra refuses: counted in azure_kv_login_errors_total, not ready, the secret never logged', async (t) => {
    const fake = await fakeAzure(t);
    const operator = await startOperator(t, {
      args: ['--backend=azure-kv', '--watch-namespaces=none'],
      env: {
        ...through(fake),
        AZURE_KV_NAME: fake.vaultName,
        AZURE_TENANT_ID: fake.tenantId,
        AZURE_CLIENT_ID: fake.servicePrincipal.clientId,
        AZURE_CLIENT_SECRET: 'not-the-secret-4711',
      },
    });
    await waitFor('a counted login error', async () => {
      const text = await operator.metrics().catch(() => '');
      return metricSum(
        text,
        `secrets_manager_azure_kv_login_errors_total{azure_kv_name="fake-kv",azure_kv_tenant="${fake.tenantId}"}`,
      ) >= 1
        ? true
        : undefined;
    });
    // The caches sync on their own clock; once they have, the refused login is what keeps it unready.
    const ready = await waitFor('readyz naming the refused login', async () => {
      const answer = await http(`${operator.metricsUrl}/readyz`);
      return answer.body.includes('caches are not synced') ? undefined : answer;
    });
    assert.equal(ready.status, 503);
    assert.match(ready.body, /no Microsoft Entra token/);
    assert.match(operator.logs(), /AADSTS7000215/);
    assert.doesNotMatch(operator.logs(), /not-the-secret-4711/);
  });

  test('Key Vault throttling (429) is waited out for the Retry-After it asks, and the definition syncs', async (t) => {
    const ns = await freshNamespace(t);
    const fake = await fakeAzure(t);
    fake.setSecret('token', 't-1');
    const operator = await servicePrincipalOperator(t, fake, ns);
    await waitReady(operator);
    fake.throttle(2, 2);
    const before = fake.requests.length;
    await applyDefinition(ns, 'token', { name: 'token', keysMap: { v: { path: 'token', key: 'value' } } });
    await waitForReady(ns, 'token', 'True');
    assert.deepEqual(await secretData(ns, 'token'), { v: 't-1' });
    const served = fake.requests
      .slice(before)
      .filter((r) => r.path.startsWith('/secrets/token/') && r.authorized);
    assert.deepEqual(
      served.slice(0, 3).map((r) => r.status),
      [429, 429, 200],
      'two refused, then served',
    );
    // Each attempt is counted in the operator's own request metric.
    const counted = await operator.metrics();
    assert.ok(metricSum(counted, 'secrets_manager_azure_kv_requests_total{status="429"}') >= 2, counted);
    assert.ok(metricSum(counted, 'secrets_manager_azure_kv_requests_total{status="200"}') >= 1);
    // Each answer after a 429 came no sooner than the 2 s its Retry-After asked for.
    for (const i of [1, 2]) {
      const gap = (served[i]?.at ?? 0) - (served[i - 1]?.at ?? 0);
      assert.ok(gap >= 1_900, `request ${i} came ${gap} ms after a 429 asking for 2 s`);
    }
  });
});
