import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../../src/observability/metrics.ts';

async function series(metrics: Metrics, name: string): Promise<string[]> {
  return (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith(`${name}{`));
}

test('a read-error series (it carries a Vault path) goes when the last definition counting into it goes', async () => {
  const metrics = new Metrics();
  metrics.vaultReadFailed('ns/a', 'secret/x', 'k', 'BackendSecretNotFoundError');
  metrics.vaultReadFailed('ns/b', 'secret/x', 'k', 'BackendSecretNotFoundError');
  metrics.vaultReadFailed('ns/b', 'secret/y', '', 'UnknownError');
  const name = 'secrets_manager_vault_read_secret_errors_total';
  assert.equal((await series(metrics, name)).length, 2);
  assert.match(
    (await series(metrics, name))[0] ?? '',
    /path="secret\/x",key="k",error="BackendSecretNotFoundError"\} 2$/,
  );
  metrics.forgetDefinition('ns', 'b');
  assert.deepEqual(
    (await series(metrics, name)).map((line) => line.replace(/^.*path=/, 'path=')),
    ['path="secret/x",key="k",error="BackendSecretNotFoundError"} 2'],
  );
  metrics.forgetDefinition('ns', 'a');
  assert.deepEqual(await series(metrics, name), []);
});

test('a definition pointed at another path lets go of the read-error series of the path it left', async () => {
  const metrics = new Metrics();
  metrics.vaultReadFailed('ns/a', 'secret/old', 'k', 'BackendSecretNotFoundError');
  metrics.vaultReadFailed('ns/a', 'secret/kept', '', 'UnknownError');
  metrics.vaultReadFailed('ns/b', 'secret/old', 'k', 'BackendSecretNotFoundError');
  const name = 'secrets_manager_vault_read_secret_errors_total';
  const paths = async (): Promise<string[]> =>
    (await series(metrics, name)).map((line) =>
      line.replace(/^.*path="([^"]*)",key="([^"]*)".*\} (\d+)$/, '$1#$2 $3'),
    );
  metrics.definitionReads('ns', 'a', 's', [
    { path: 'secret/new', key: 'k' },
    { path: 'secret/kept', key: '' },
  ]);
  // ns/b still reads secret/old: the series stays, with the count of both.
  assert.deepEqual(await paths(), ['secret/old#k 2', 'secret/kept# 1']);
  metrics.definitionReads('ns', 'b', 's2', [{ path: 'secret/old', key: 'other' }]);
  assert.deepEqual(await paths(), ['secret/kept# 1']);
  metrics.definitionReads('ns', 'a', 's', [{ path: 'secret/new', key: 'k' }]);
  assert.deepEqual(await paths(), []);
  // Forgetting a definition afterwards finds nothing left to remove, and breaks nothing.
  metrics.forgetDefinition('ns', 'a');
  metrics.vaultReadFailed('ns/a', 'secret/new', 'k', 'UnknownError');
  assert.deepEqual(await paths(), ['secret/new#k 1']);
});

test("a definition writing to another Secret lets go of the read-error series of the Secret's old name", async () => {
  const metrics = new Metrics();
  const name = 'secrets_manager_controller_secret_read_errors_total';
  metrics.secretReadFailed('ns', 'def', 'old-name');
  metrics.definitionReads('ns', 'def', 'old-name', []);
  assert.deepEqual(await series(metrics, name), [`${name}{name="old-name",namespace="ns"} 1`]);
  metrics.definitionReads('ns', 'def', 'new-name', []);
  assert.deepEqual(await series(metrics, name), []);
});

test('a Secret read-error series two definitions count into (a conflict over one name) stays while either still targets it', async () => {
  const metrics = new Metrics();
  const name = 'secrets_manager_controller_secret_read_errors_total';
  metrics.secretReadFailed('ns', 'a', 'shared');
  metrics.secretReadFailed('ns', 'b', 'shared');
  metrics.definitionReads('ns', 'a', 'elsewhere', []);
  assert.deepEqual(await series(metrics, name), [`${name}{name="shared",namespace="ns"} 2`]);
  metrics.forgetDefinition('ns', 'b');
  assert.deepEqual(await series(metrics, name), []);
});

test("a Secret read error is labelled with the Secret's name and goes with its definition", async () => {
  const metrics = new Metrics();
  metrics.secretReadFailed('ns', 'def', 'the-secret');
  const name = 'secrets_manager_controller_secret_read_errors_total';
  assert.deepEqual(await series(metrics, name), [`${name}{name="the-secret",namespace="ns"} 1`]);
  metrics.forgetDefinition('ns', 'def');
  assert.deepEqual(await series(metrics, name), []);
});

test("failed token operations are counted with the original's names and values", async () => {
  const metrics = new Metrics();
  metrics.setVaultIdentity({
    address: 'https://v',
    engine: 'auto',
    version: '2.4.0',
    clusterId: 'c',
    clusterName: 'n',
  });
  const vault =
    'vault_address="https://v",vault_engine="auto",vault_version="2.4.0",vault_cluster_id="c",vault_cluster_name="n"';
  metrics.tokenOperationFailed('login');
  metrics.tokenOperationFailed('login');
  metrics.tokenOperationFailed('renew');
  metrics.tokenOperationFailed('lookup');
  assert.deepEqual(await series(metrics, 'secrets_manager_vault_login_errors_total'), [
    `secrets_manager_vault_login_errors_total{${vault}} 2`,
  ]);
  assert.deepEqual((await series(metrics, 'secrets_manager_vault_token_renewal_errors_total')).sort(), [
    `secrets_manager_vault_token_renewal_errors_total{${vault},vault_operation="lookup-self",error="UnknownError"} 1`,
    `secrets_manager_vault_token_renewal_errors_total{${vault},vault_operation="renew-self",error="UnknownError"} 1`,
  ]);
});
