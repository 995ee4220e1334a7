// The provider --backend names. Each backend is loaded only when chosen: a Vault operator never
// loads the Azure SDKs. Adding a backend is a folder under src/providers/ and one branch here.

import type { Config } from '../config.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { kubeLeaseTokenStore } from '../kube/lease-token-store.ts';
import { kubeTokenRequester } from '../kube/service-account-token.ts';
import type { ProviderDeps } from '../providers/polling.ts';
import type { SecretProvider } from '../providers/provider.ts';

export async function createProvider(
  config: Config,
  deps: ProviderDeps,
  /** The work's client: token requests end with the leadership term. */
  kube: KubeApi,
): Promise<SecretProvider> {
  if (config.azureKv) {
    const { createAzureKvProvider } = await import('../providers/azure-kv/provider.ts');
    return createAzureKvProvider(config.azureKv, deps);
  }
  const { createVaultProvider } = await import('../providers/vault/provider.ts');
  return createVaultProvider(config.vault, {
    ...deps,
    // Namespace scope: each namespace logs in with a token of its own service account.
    requestToken: kubeTokenRequester(kube, config.vault.tenant?.audience),
    ...(config.leaseTokenSecret
      ? { leaseTokens: kubeLeaseTokenStore(kube, config.leaderElection.namespace, config.leaseTokenSecret) }
      : {}),
  });
}

/** What the start log says: where the backend is and how the operator logs in (no secret), and its scope. */
export function describeStart(config: Config, policyRules: number | undefined): Record<string, unknown> {
  const { vault, azureKv, metricsAddress } = config;
  return {
    ...(azureKv
      ? { backend: 'azure-kv', azureKeyVault: azureKv.url, authMethod: azureKv.auth.method }
      : {
          backend: 'vault',
          vault: vault.address,
          authMethod: vault.authMethod,
          authScope: vault.authScope,
          engine: vault.engine,
        }),
    namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
    excluded: config.excludeNamespaces,
    metrics: `${metricsAddress.host ?? ''}:${metricsAddress.port}`,
    leaderElection: config.leaderElection.enabled,
    accessPolicy:
      policyRules === undefined
        ? 'none (tenancy off)'
        : { file: config.accessPolicyFile, rules: policyRules },
  };
}
