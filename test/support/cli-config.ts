// The Config a command line gives, parsed exactly as `secrets-manager run` parses it.

import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli.ts';
import { toConfig, type Config } from '../../src/config.ts';

/** Runs the CLI's own parser on `args` (with a Vault address) and answers the Config `run` gets. */
export async function configOf(args: readonly string[]): Promise<Config> {
  let config: Config | undefined;
  const program = buildProgram({
    run: async (options) => {
      config = toConfig(options);
    },
    validate: async () => 0,
    version: () => '0.0.0',
  });
  await program.parseAsync(['node', 'secrets-manager', '--vault.url=http://127.0.0.1:8200', ...args]);
  assert.ok(config, 'run was called');
  return config;
}
