import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configOf } from '../../support/cli-config.ts';

const credentials = ['--vault.role-id=r', '--vault.secret-id=s'];

describe('rate limit flags', () => {
  test('the defaults', async () => {
    const config = await configOf(credentials);
    assert.deepEqual(config.kubeApi, { qps: 500, burst: 1000 });
    assert.deepEqual([config.vault.qps, config.vault.burst], [250, 500]);
  });

  test("the leader election Lease is the original operator's unless --leader-election-id names another", async () => {
    assert.equal((await configOf(credentials)).leaderElection.name, '5ac9a181.secrets-manager.tuenti.io');
    const named = await configOf([...credentials, '--leader-election-id=other']);
    assert.equal(named.leaderElection.name, 'other');
  });

  test('--kube-api-qps and --kube-api-burst set the apiserver limit; --vault.qps and --vault.burst the Vault one', async () => {
    const config = await configOf([
      ...credentials,
      '--kube-api-qps=12.5',
      '--kube-api-burst=7',
      '--vault.qps=300',
      '--vault.burst=600',
    ]);
    assert.deepEqual(config.kubeApi, { qps: 12.5, burst: 7 });
    assert.deepEqual([config.vault.qps, config.vault.burst], [300, 600]);
  });

  for (const [flag, problem] of [
    ['--kube-api-qps=0', /kube-api-qps/],
    ['--kube-api-qps=fast', /kube-api-qps/],
    ['--kube-api-burst=0', /kube-api-burst/],
    ['--kube-api-burst=1.5', /kube-api-burst/],
  ] as const) {
    test(`${flag} is refused, naming the flag`, async () => {
      await assert.rejects(configOf([...credentials, flag]), problem);
    });
  }
});
