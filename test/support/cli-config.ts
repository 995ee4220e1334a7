// The Config a command line gives, parsed exactly as `secrets-manager run` parses it.

import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli.ts';
import { toConfig, type Config } from '../../src/config.ts';
import { connectionSources } from '../../src/flags.ts';

/**
 * Runs `body` with `env` in process.env (as the CLI reads it; undefined: the variable removed),
 * then restores what was there.
 */
export async function withEnv<T>(
  env: Record<string, string | undefined>,
  body: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    return await body();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/**
 * The Vault and Azure variables, removed: a shell with .cluster/env sourced (or an Azure login)
 * must not change a test.
 */
export const noVaultEnv = {
  VAULT_ADDR: undefined,
  VAULT_ROLE_ID: undefined,
  VAULT_SECRET_ID: undefined,
  VAULT_TOKEN: undefined,
  AZURE_KV_NAME: undefined,
  AZURE_TENANT_ID: undefined,
  AZURE_CLIENT_ID: undefined,
  AZURE_CLIENT_SECRET: undefined,
  AZURE_MANAGED_CLIENT_ID: undefined,
  AZURE_MANAGED_RESOURCE_ID: undefined,
  AZURE_FEDERATED_TOKEN_FILE: undefined,
  AZURE_AUTHORITY_HOST: undefined,
};

/** What `run` gets for exactly these arguments: the Config, and where the connection settings came from. */
export async function parseRun(args: readonly string[]): Promise<{ config: Config; sources: string[] }> {
  let result: { config: Config; sources: string[] } | undefined;
  const program = buildProgram({
    run: async (options, sources) => {
      const config = toConfig(options);
      result = { config, sources: connectionSources(sources, config.backend) };
    },
    validate: async () => 0,
    explain: async () => 0,
    version: () => '0.0.0',
  });
  await program.parseAsync(['node', 'secrets-manager', ...args]);
  assert.ok(result, 'run was called');
  return result;
}

/** The Config for `args` with a Vault address, the VAULT_* variables cleared so the flags decide. */
export async function configOf(args: readonly string[]): Promise<Config> {
  return (await withEnv(noVaultEnv, () => parseRun(['--vault.url=http://127.0.0.1:8200', ...args]))).config;
}
