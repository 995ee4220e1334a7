import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Config } from '../../../src/config.ts';
import { noVaultEnv, parseRun, withEnv } from '../../support/cli-config.ts';

/** The Config `run` acts on for exactly these arguments. */
async function configFor(args: readonly string[]): Promise<Config> {
  return (await parseRun(args)).config;
}

const flags = [
  '--vault.url=https://vault.example:8200',
  '--vault.auth-method',
  'token',
  '--vault.token=x',
  '--reconcile-period=30s',
  '--concurrency=7',
];

describe('the run command takes the flags however they are placed', () => {
  for (const [spelling, args] of [
    ['secrets-manager FLAGS', flags],
    ['secrets-manager run FLAGS', ['run', ...flags]],
    ['secrets-manager FLAGS run', [...flags, 'run']],
    ['secrets-manager SOME run OTHERS', [...flags.slice(0, 3), 'run', ...flags.slice(3)]],
  ] as const) {
    test(spelling, async () => {
      const config = await withEnv(noVaultEnv, () => configFor(args));
      assert.equal(config.vault.address, 'https://vault.example:8200');
      assert.equal(config.vault.authMethod, 'token');
      assert.equal(config.vault.token, 'x');
      assert.equal(config.reconcilePeriodMs, 30_000);
      assert.equal(config.concurrency, 7);
    });
  }
});

describe("environment precedence, as the original's help states it", () => {
  test('VAULT_ADDR, VAULT_ROLE_ID and VAULT_SECRET_ID win over their flags; the sources are named, not the values', async () => {
    const { config, sources } = await withEnv(
      {
        ...noVaultEnv,
        VAULT_ADDR: 'https://from-env:8200',
        VAULT_ROLE_ID: 'role-env',
        VAULT_SECRET_ID: 'secret-env',
      },
      () =>
        parseRun([
          '--vault.url=https://from-flag:8200',
          '--vault.role-id=role-flag',
          '--vault.secret-id=secret-flag',
        ]),
    );
    assert.equal(config.vault.address, 'https://from-env:8200');
    assert.deepEqual([config.vault.roleId, config.vault.secretId], ['role-env', 'secret-env']);
    assert.deepEqual(sources, [
      '--vault.url from env VAULT_ADDR',
      '--vault.auth-method from default',
      '--vault.role-id from env VAULT_ROLE_ID',
      '--vault.secret-id from env VAULT_SECRET_ID',
    ]);
    assert.doesNotMatch(JSON.stringify(sources), /secret-env|role-env|from-env/);
  });

  test('an empty variable does not win, and the other variables (VAULT_TOKEN) lose to their flags', async () => {
    const { config, sources } = await withEnv(
      { ...noVaultEnv, VAULT_ADDR: '', VAULT_TOKEN: 'token-env' },
      () =>
        parseRun([
          '--vault.url=https://from-flag:8200',
          '--vault.auth-method=token',
          '--vault.token=token-flag',
        ]),
    );
    assert.equal(config.vault.address, 'https://from-flag:8200');
    assert.equal(config.vault.token, 'token-flag');
    assert.ok(sources.includes('--vault.url from flag'), sources.join(', '));
    assert.ok(sources.includes('--vault.token from flag'), sources.join(', '));
  });
});
