// Who explain asks as: the Kubernetes identity its own reads use (the caller's kubeconfig, or the
// Pod's service account) and how it logs in to the backend with these flags. Names only, never a
// credential; printed so that a refusal can be told apart from the operator's.

import type { Config } from '../config.ts';
import type { LoadedKubeConfig } from '../kube/kubeconfig.ts';

export interface Identity {
  /** Where the Kubernetes credentials come from: the kubeconfig, its context and user, or the Pod's service account. */
  readonly kubernetes: string;
  /** The backend login: its method, and for Vault its scope (namespace: one login per namespace). */
  readonly backend: { readonly method: string; readonly scope?: 'operator' | 'namespace' };
}

export function identityOf(config: Config, loaded: LoadedKubeConfig): Identity {
  const user = loaded.kubeConfig.getCurrentUser()?.name;
  const kubernetes = `${loaded.source}${user && user !== 'in-cluster' ? `, user ${user}` : ''}`;
  if (config.azureKv) return { kubernetes, backend: { method: config.azureKv.auth.method } };
  const { vault } = config;
  // In namespace scope each namespace logs in with Kubernetes auth, whatever --vault.auth-method says.
  return vault.authScope === 'namespace'
    ? { kubernetes, backend: { method: 'kubernetes', scope: 'namespace' } }
    : { kubernetes, backend: { method: vault.authMethod, scope: 'operator' } };
}

/** The identity as one line: "Kubernetes: ...; Vault: approle login (operator scope)". */
export function identityText(identity: Identity, backendName: string): string {
  const { method, scope } = identity.backend;
  const how =
    scope === 'namespace'
      ? `${method} login per namespace, as its --vault.tenant-service-account (namespace scope)`
      : `${method} login${scope ? ` (${scope} scope)` : ''}`;
  return `Kubernetes: ${identity.kubernetes}; ${backendName}: ${how}`;
}
