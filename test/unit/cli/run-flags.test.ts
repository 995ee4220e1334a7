import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildProgram } from '../../../src/cli.ts';
import { toConfig, type Config } from '../../../src/config.ts';

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
      const config = await configFor(args);
      assert.equal(config.vault.address, 'https://vault.example:8200');
      assert.equal(config.vault.authMethod, 'token');
      assert.equal(config.vault.token, 'x');
      assert.equal(config.reconcilePeriodMs, 30_000);
      assert.equal(config.concurrency, 7);
    });
  }
});
