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

test("a Secret read error is labelled with the Secret's name and goes with its definition", async () => {
  const metrics = new Metrics();
  metrics.secretReadFailed('ns', 'def', 'the-secret');
  const name = 'secrets_manager_controller_secret_read_errors_total';
  assert.deepEqual(await series(metrics, name), [`${name}{name="the-secret",namespace="ns"} 1`]);
  metrics.forgetDefinition('ns', 'def');
  assert.deepEqual(await series(metrics, name), []);
});
