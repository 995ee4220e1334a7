import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Config } from '../../../src/config.ts';
import { goStyleArgs } from '../../../src/go-flags.ts';
import { noVaultEnv, parseRun, withEnv } from '../../support/cli-config.ts';

/** The Config `run` acts on for these arguments (VAULT_* variables cleared: flags decide). */
async function configFor(args: readonly string[]): Promise<Config> {
  const run = () => parseRun(['-vault.auth-method=token', '-vault.token=t', ...args]);
  return (await withEnv(noVaultEnv, run)).config;
}

describe("every flag in every spelling Go's flag package accepts", () => {
  for (const args of [
    ['-reconcile-period=5s'],
    ['-reconcile-period', '5s'],
    ['--reconcile-period=5s'],
    ['--reconcile-period', '5s'],
    ['run', '-reconcile-period', '5s'],
  ]) {
    test(args.join(' '), async () => {
      assert.equal((await configFor(args)).reconcilePeriodMs, 5_000);
    });
  }

  test('the original manifests: -vault.url=..., -controller-name, -backend', async () => {
    const config = await configFor([
      '-vault.url=https://vault.example:8200',
      '-controller-name',
      'sm-prod',
      '-backend=vault',
    ]);
    assert.equal(config.vault.address, 'https://vault.example:8200');
    assert.equal(config.controllerName, 'sm-prod');
  });

  test('a value is the next argument whatever it looks like, as in Go', async () => {
    assert.equal(
      (await configFor(['-vault.token', '-starts-with-a-dash'])).vault.token,
      '-starts-with-a-dash',
    );
  });

  for (const [args, expected] of [
    [['-enable-leader-election'], true],
    [['--enable-leader-election'], true],
    [['-enable-leader-election=true'], true],
    [['-enable-leader-election=1'], true],
    [['-enable-leader-election=T'], true],
    [['-enable-leader-election=false'], false],
    [['-enable-leader-election=0'], false],
    [['-enable-leader-election', '-enable-leader-election=FALSE'], false],
    [['-enable-leader-election=f', '-enable-leader-election'], true],
    [[], false],
  ] as const) {
    test(`booleans: ${args.join(' ') || '(none)'} -> ${String(expected)}`, async () => {
      assert.equal((await configFor(args)).leaderElection.enabled, expected);
    });
  }

  test('a boolean given something Go would refuse is one clear error naming the flag', async () => {
    await assert.rejects(configFor(['-enable-leader-election=maybe']), {
      name: 'ConfigError',
      message: '-enable-leader-election: the value given is not a boolean (true or false)',
    });
  });

  test('--backend names the choices', async () => {
    await assert.rejects(configFor(['-backend=gcp']), /"gcp" is not supported; choose vault or azure-kv/);
  });

  test('after --, nothing is rewritten; unknown flags are left for commander to refuse', () => {
    assert.deepEqual(goStyleArgs(['-nope=1', '--', '-vault.url=x']), ['-nope=1', '--', '-vault.url=x']);
    assert.deepEqual(goStyleArgs(['-help']), ['--help']);
  });
});

describe("the original's zap flags drive the logger", () => {
  for (const [args, level, format] of [
    [[], 'info', 'json'],
    [['-zap-devel'], 'debug', 'text'],
    [['-zap-devel', '-zap-encoder=json'], 'debug', 'json'],
    [['-zap-devel', '-zap-log-level=info'], 'info', 'text'],
    [['-zap-encoder', 'console'], 'info', 'text'],
    [['-zap-log-level=error'], 'error', 'json'],
    [['-zap-log-level=panic'], 'error', 'json'],
    [['-zap-log-level=2'], 'debug', 'json'],
    [['-zap-log-level=error', '-enable-debug-log'], 'debug', 'json'],
    [['-zap-time-encoding=iso8601', '-zap-stacktrace-level=error'], 'info', 'json'],
  ] as const) {
    test(`${args.join(' ') || '(none)'} -> ${level}, ${format}`, async () => {
      const config = await configFor(args);
      assert.deepEqual([config.logLevel, config.logFormat], [level, format]);
    });
  }

  for (const [flag, problem] of [
    ['-zap-encoder=xml', /--zap-encoder: "xml" must be json or console/],
    [
      '-zap-log-level=loud',
      /--zap-log-level: "loud" must be one of debug, info, warn, error, dpanic, panic, fatal, or a number/,
    ],
    ['-zap-time-encoding=unix', /--zap-time-encoding: "unix" must be one of epoch, millis/],
  ] as const) {
    test(`${flag} is refused, naming the choices`, async () => {
      await assert.rejects(configFor([flag]), problem);
    });
  }
});
