// Short-lived service-account tokens from the TokenRequest API: how the operator proves a
// namespace's identity to Vault's Kubernetes auth (--vault.auth-scope namespace). A token is
// requested for each login and never stored beyond it.

import { apiName } from './api-name.ts';
import { toKubeError } from './errors.ts';
import type { KubeApi } from './kube-api.ts';

/** Tokens live ten minutes: long enough for a login, short enough to be worthless if leaked. */
const expirationSeconds = 600;

export class ServiceAccountTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceAccountTokenError';
  }
}

export type TokenRequester = (namespace: string, serviceAccount: string) => Promise<string>;

/** `api`: the work's client, whose requests are aborted when the leadership term ends. */
export function kubeTokenRequester(api: KubeApi, audience: string | undefined): TokenRequester {
  return async (namespace, serviceAccount) => {
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: audience ? [audience] : [], expirationSeconds },
    };
    try {
      const answer = await api.core.createNamespacedServiceAccountToken({
        name: apiName(serviceAccount),
        namespace: apiName(namespace),
        body,
      });
      const token: unknown = answer.status?.token;
      if (typeof token !== 'string' || token === '')
        throw new ServiceAccountTokenError('the apiserver answered the TokenRequest with no token');
      return token;
    } catch (error) {
      if (error instanceof ServiceAccountTokenError) throw error;
      const failure = toKubeError(
        error,
        `requesting a token for service account ${namespace}/${serviceAccount}`,
      );
      if (failure.status === 404) {
        throw new ServiceAccountTokenError(
          `service account ${serviceAccount} does not exist in namespace ${namespace}: create it, or name another with --vault.tenant-service-account`,
        );
      }
      if (failure.status === 403) {
        throw new ServiceAccountTokenError(
          `the operator may not request tokens for service account ${serviceAccount} in namespace ${namespace} (it needs create on serviceaccounts/token for that name)`,
        );
      }
      throw new ServiceAccountTokenError(failure.message);
    }
  };
}
