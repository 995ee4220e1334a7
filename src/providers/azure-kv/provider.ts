// Azure Key Vault as a SecretProvider, through the official SDKs: @azure/identity for the login
// (managed identity, AKS workload identity, or a service principal's client secret) and
// @azure/keyvault-secrets for the reads. One identity serves every namespace; reads are shared
// per secret and paced by the same poller, refresh budget and rate limiter as Vault's. This module
// is loaded only with --backend azure-kv, so a Vault operator never loads the Azure SDKs.

import { backendWords } from '../../api/backends.ts';
import {
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { reasons } from '../../api/conditions.ts';
import { ProviderError } from '../errors.ts';
import { backoff } from '../../clock.ts';
import type { AzureKvConfig } from './config.ts';
import { describeError } from '../../describe-error.ts';
import { AdaptiveRate } from '../../rate-limit/adaptive-rate.ts';
import { RateLimiter } from '../../rate-limit/rate-limiter.ts';
import { sharedPolling, type ProviderDeps } from '../polling.ts';
import type { SecretProvider } from '../provider.ts';
import { AzureKvReader } from './reader.ts';

/** The Entra login of `config.auth`, at the authority of the vault's cloud. */
function credentialFor(config: AzureKvConfig): TokenCredential {
  const { auth, authorityHost, disableInstanceDiscovery } = config;
  // Without discovery turned off, MSAL asks login.microsoftonline.com about any authority it
  // does not know by heart: a private one that the public cloud cannot vouch for fails the login.
  const authority = {
    ...(authorityHost ? { authorityHost } : {}),
    ...(disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
  };
  switch (auth.method) {
    case 'managed-identity':
      return auth.resourceId
        ? new ManagedIdentityCredential({ resourceId: auth.resourceId })
        : new ManagedIdentityCredential({ ...(auth.clientId ? { clientId: auth.clientId } : {}) });
    case 'workload-identity':
      // The token file is read again at every login: the kubelet rotates it.
      return new WorkloadIdentityCredential({
        tenantId: auth.tenantId,
        clientId: auth.clientId,
        tokenFilePath: auth.tokenFile,
        ...authority,
      });
    case 'client-secret':
      return new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret, authority);
  }
}

function noIssuing(): ProviderError {
  return new ProviderError(
    reasons.invalidSpec,
    'Azure Key Vault has no PKI or dynamic secrets engine: use keysMap or dataFrom with --backend azure-kv',
  );
}

export function createAzureKvProvider(config: AzureKvConfig, deps: ProviderDeps): SecretProvider {
  const { clock, random, metrics, logger } = deps;
  const vault = { name: config.name, tenantId: config.tenantId };
  const loginFailed = (): void =>
    metrics.azureKvLoginErrors.inc({ azure_kv_name: vault.name, azure_kv_tenant: vault.tenantId });
  const credential = credentialFor(config);
  if (config.disableInstanceDiscovery && config.auth.method !== 'managed-identity')
    logger.warn(
      'instance discovery is off (--azure-kv.disable-instance-discovery): the login sends its credential to this authority without asking the public cloud about it',
      { authority: config.authorityHost },
    );
  // Every attempt the SDK sends (its retries included) is counted, as Vault's requests are.
  // At most two retries (429 after its Retry-After, 5xx), all within the reader's deadline; the
  // path poller retries later reads itself.
  const client = new SecretClient(config.url, credential, {
    retryOptions: { maxRetries: 2 },
    additionalPolicies: [
      {
        position: 'perRetry',
        policy: {
          name: 'secrets-manager-request-count',
          async sendRequest(request, next) {
            try {
              const response = await next(request);
              metrics.azureKvRequests.inc({ status: String(response.status) });
              return response;
            } catch (error) {
              const status = (error as { statusCode?: unknown }).statusCode;
              metrics.azureKvRequests.inc({ status: typeof status === 'number' ? String(status) : 'error' });
              throw error;
            }
          },
        },
      },
    ],
  });
  const limiter = new RateLimiter(clock, config.qps, config.burst);
  const reader = new AzureKvReader({
    fetcher: client,
    limiter,
    rate: new AdaptiveRate(clock, limiter.bucket),
    clock,
    vaultName: config.name,
    timeoutMs: config.timeoutMs,
    signal: deps.signal,
    authenticated(ok) {
      if (!ok) loginFailed();
      authenticated = ok;
    },
    debug: (message, fields) => logger.debug(message, fields),
  });
  const polling = sharedPolling(config.qps, backendWords['azure-kv'], deps);
  const poller = polling.poller(reader);
  /** Whether the identity got a token, and Key Vault took it, last time it was tried. */
  let authenticated = false;

  // A token up front, so readiness says whether the identity works before the first definition.
  const loginUntilReady = async (signal: AbortSignal): Promise<void> => {
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        await credential.getToken(`${config.resource}/.default`, { abortSignal: signal });
        authenticated = true;
        logger.info('logged in to Microsoft Entra ID for Azure Key Vault', {
          vault: config.url,
          method: config.auth.method,
        });
        return;
      } catch (error) {
        if (signal.aborted) return;
        loginFailed();
        logger.warn('Azure login failed; retrying', {
          attempt,
          method: config.auth.method,
          error: describeError(error),
        });
        await clock.sleep(backoff(attempt, 1_000, 60_000, random), signal);
      }
    }
  };

  return {
    backend: 'azure-kv',
    sources: () => ({
      resolve: (path) => reader.resolve(path),
      track: (user, sources, intervalMs) => poller.track(user, sources, intervalMs),
      untrack: (user) => poller.untrack(user),
      get: (source, fresh) => poller.get(source, fresh),
      // validate refuses pki and dynamic with this backend; this holds if one gets here anyway.
      issue: () => Promise.reject(noIssuing()),
      renewLease: () => Promise.reject(noIssuing()),
      revokeLease: () => Promise.reject(noIssuing()),
      adoptLease: () => Promise.resolve(),
      leaseEndsBy: () => undefined,
    }),
    definitionAdded: () => undefined,
    definitionRemoved: () => undefined,
    start: (signal) => void loginUntilReady(signal),
    notReady: () => (authenticated ? undefined : 'no Microsoft Entra token for Azure Key Vault'),
    refreshStretched: () => polling.budget.isStretched,
    readFailed: (definition, path, key, error) =>
      metrics.azureKvReadFailed(vault, definition, path, key, error),
    collect() {
      metrics.polledSources.set(poller.size);
      metrics.recordStretch(polling.budget.current, limiter.qps);
    },
    async stop() {
      polling.budget.stop();
      poller.stop();
    },
  };
}
