// Vault's side of --vault.auth-scope namespace for tests: the sample script
// config/samples/setup-vault-tenants.sh, run against the shared stack's OpenBao.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testStack } from './stack.ts';

const exec = promisify(execFile);
const script = join(import.meta.dirname, '..', '..', 'config', 'samples', 'setup-vault-tenants.sh');

/** One Kubernetes-auth role and policy per namespace, bound to `serviceAccount`; answers the script's output. */
export async function setupVaultTenants(
  namespaces: readonly string[],
  serviceAccount: string,
  mounts: { readonly pki?: string; readonly database?: string } = {},
): Promise<string> {
  const { state } = await testStack();
  const { stdout } = await exec('sh', [script, ...namespaces], {
    env: {
      PATH: process.env['PATH'] ?? '',
      VAULT_ADDR: state.vault.addr,
      VAULT_TOKEN: state.vault.rootToken,
      VAULT_CLI: state.binaries.bao,
      TENANT_SERVICE_ACCOUNT: serviceAccount,
      ...(mounts.pki ? { PKI_MOUNT: mounts.pki } : {}),
      ...(mounts.database ? { DATABASE_MOUNT: mounts.database } : {}),
    },
  });
  return stdout;
}
