import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildProgram } from '../../../src/cli.ts';
import { connectionSources } from '../../../src/flags.ts';
import { toConfig, type Config } from '../../../src/config.ts';

/** Runs with `env` set in process.env (as the CLI reads it), then restores what was there. */
async function withEnv<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** The variables that win over flags, cleared: a shell with .cluster/env sourced must not change a test. */
const noVaultEnv = { VAULT_ADDR: '', VAULT_ROLE_ID: '', VAULT_SECRET_ID: '', VAULT_TOKEN: '' };

/** The Config `run` acts on for exactly these arguments. */
async function configFor(args: readonly string[]): Promise<Config> {
  let config: Config | undefined;
  const program = buildProgram({
    run: async (options) => {
      config = toConfig(options);
    },
    validate: async () => 0,
    version: () => '0.0.0',
  });
  await program.parseAsync(['node', 'secrets-manager', ...args]);
  assert.ok(config, 'run was called');
  return config;
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

async function parsed(args: readonly string[]) {
  let result: { config: Config; sources: string[] } | undefined;
  const program = buildProgram({
    run: async (options, sources) => {
      result = { config: toConfig(options), sources: connectionSources(sources) };
    },
    validate: async () => 0,
    version: () => '0.0.0',
  });
  await program.parseAsync(['node', 'secrets-manager', ...args]);
  assert.ok(result, 'run was called');
  return result;
}

describe("environment precedence, as the original's help states it", () => {
  test('VAULT_ADDR, VAULT_ROLE_ID and VAULT_SECRET_ID win over their flags; the sources are named, not the values', async () => {
    const { config, sources } = await withEnv(
      { VAULT_ADDR: 'https://from-env:8200', VAULT_ROLE_ID: 'role-env', VAULT_SECRET_ID: 'secret-env' },
      () =>
        parsed([
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
    const { config, sources } = await withEnv({ ...noVaultEnv, VAULT_TOKEN: 'token-env' }, () =>
      parsed(['--vault.url=https://from-flag:8200', '--vault.auth-method=token', '--vault.token=token-flag']),
    );
    assert.equal(config.vault.address, 'https://from-flag:8200');
    assert.equal(config.vault.token, 'token-flag');
    assert.ok(sources.includes('--vault.url from flag'), sources.join(', '));
    assert.ok(sources.includes('--vault.token from flag'), sources.join(', '));
  });
});
