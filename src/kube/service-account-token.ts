// Short-lived service-account tokens from the TokenRequest API: how the operator proves a
// namespace's identity to Vault's Kubernetes auth (--vault.auth-scope namespace). A token is
// requested for each login and never stored beyond it.

import { AuthenticationV1TokenRequest, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { cancellable, type SignalSource } from './cancel.ts';
import { toKubeError } from './errors.ts';

/** Tokens live ten minutes: long enough for a login, short enough to be worthless if leaked. */
const expirationSeconds = 600;

export class ServiceAccountTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceAccountTokenError';
  }
}

export type TokenRequester = (namespace: string, serviceAccount: string) => Promise<string>;

export function kubeTokenRequester(
  config: KubeConfig,
  audience: string | undefined,
  signal: SignalSource = () => undefined,
): TokenRequester {
  const api = config.makeApiClient(CoreV1Api);
  const options = cancellable(signal);
  return async (namespace, serviceAccount) => {
    const body = new AuthenticationV1TokenRequest();
    body.spec = { audiences: audience ? [audience] : [], expirationSeconds };
    try {
      const answer = await api.createNamespacedServiceAccountToken(
        { name: serviceAccount, namespace, body },
        options,
      );
      const token = answer.status?.token;
      if (!token) throw new ServiceAccountTokenError('the apiserver answered the TokenRequest with no token');
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
