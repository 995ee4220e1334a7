// Vault, wired: the HTTP transport with TLS from files, the rate limiter, the circuit
// breaker and metrics around every request, and per identity a node-vault client of its own over
// that transport, the credentials of the configured auth method, the token manager and the KV reader.

import { readFile } from 'node:fs/promises';
import type { Clock, Random } from '../../clock.ts';
import { tenantRoleFor, type VaultConfig } from './config.ts';
import type { TokenRequester } from '../../kube/service-account-token.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import {
  appRoleCredentials,
  kubernetesCredentials,
  tokenCredentials,
  type Credentials,
  type SecretSource,
} from './auth.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { ProviderError } from '../errors.ts';
import { guardedTransport } from './guarded-transport.ts';
import { VaultIssuer } from './issuer.ts';
import type { LeaseTokenStore } from '../../kube/lease-token-store.ts';
import { KvReader } from './kv.ts';
import { AdaptiveRate } from '../../rate-limit/adaptive-rate.ts';
import { RateLimiter } from '../../rate-limit/rate-limiter.ts';
import { TokenManager } from './token-manager.ts';
import { createHttpTransport, type VaultTransport } from './transport.ts';
import { createVaultApi, type VaultApi } from './vault-api.ts';

function fileSource(path: string, what: string): SecretSource {
  return async () => {
    try {
      const text = (await readFile(path, 'utf8')).trim();
      if (!text) throw new Error('it is empty');
      return text;
    } catch (error) {
      throw new Error(
        `cannot read the ${what} from ${path}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
}

function valueSource(value: string): SecretSource {
  return () => Promise.resolve(value);
}

function credentialsFor(vault: VaultConfig): Credentials {
  switch (vault.authMethod) {
    case 'approle':
      return appRoleCredentials({
        mount: vault.approlePath,
        roleId: vault.roleIdFile
          ? fileSource(vault.roleIdFile, 'AppRole role_id')
          : valueSource(vault.roleId ?? ''),
        secretId: vault.secretIdFile
          ? fileSource(vault.secretIdFile, 'AppRole secret_id')
          : valueSource(vault.secretId ?? ''),
      });
    case 'kubernetes':
      return kubernetesCredentials({
        mount: vault.kubernetesPath,
        role: vault.kubernetesRole ?? '',
        jwt: fileSource(vault.kubernetesTokenFile, 'service-account token'),
      });
    case 'token':
      return tokenCredentials(
        vault.tokenFile ? fileSource(vault.tokenFile, 'Vault token') : valueSource(vault.token ?? ''),
      );
  }
}

async function vaultTransport(vault: VaultConfig): Promise<VaultTransport> {
  const read = async (path: string | undefined, what: string): Promise<string | undefined> => {
    if (!path) return undefined;
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(
        `cannot read the ${what} from ${path}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
  const [caPem, clientCertPem, clientKeyPem] = await Promise.all([
    read(vault.caCertFile, 'Vault CA certificate'),
    read(vault.clientCertFile, 'Vault client certificate'),
    read(vault.clientKeyFile, 'Vault client key'),
  ]);
  return createHttpTransport({
    address: vault.address,
    timeoutMs: vault.timeoutMs,
    skipVerify: vault.skipVerify,
    ...(caPem ? { caPem } : {}),
    ...(clientCertPem ? { clientCertPem } : {}),
    ...(clientKeyPem ? { clientKeyPem } : {}),
  });
}

/** Vault's version and cluster for the original's metric labels; unknown values stay empty. */
async function vaultIdentity(
  vault: VaultApi,
): Promise<{ version: string; clusterId: string; clusterName: string }> {
  try {
    const body = ((await vault.health()) ?? {}) as Record<string, unknown>;
    const text = (key: string): string => (typeof body[key] === 'string' ? body[key] : '');
    return { version: text('version'), clusterId: text('cluster_id'), clusterName: text('cluster_name') };
  } catch {
    return { version: '', clusterId: '', clusterName: '' };
  }
}

/** A token manager and the KV reader and issuer that use its token: one Vault identity's clients. */
export interface VaultReaders {
  readonly tokens: TokenManager;
  readonly kv: KvReader;
  readonly issuer: VaultIssuer;
}

export interface VaultClients {
  /** The operator's own login (--vault.auth-scope operator); undefined in namespace scope. */
  readonly operator: VaultReaders | undefined;
  /** A namespace's own login (--vault.auth-scope namespace): made once per namespace by the caller. */
  readonly forNamespace: ((namespace: string) => VaultReaders) | undefined;
  /** The one rate limit every identity's requests share. */
  readonly limiter: RateLimiter;
}

export async function createVaultClients(
  vault: VaultConfig,
  deps: {
    clock: Clock;
    random: Random;
    metrics: Metrics;
    logger: Logger;
    /** The signal KV reads run under (the leadership term); token calls do not use it. */
    signal?: () => AbortSignal | undefined;
    /** Service-account tokens for namespace logins (namespace scope). */
    requestToken?: TokenRequester;
    /** These definitions need a look: their leases end with a token just replaced. */
    changed?: (users: readonly string[]) => void;
    /** Where tokens that issued live leases are kept across a restart (--lease-token-secret). */
    leaseTokens?: LeaseTokenStore;
    /** Vault answers again after the circuit breaker was open. */
    reachable?: () => void;
  },
): Promise<VaultClients> {
  const { clock, random, metrics, logger } = deps;
  // Every request through the breaker, the rate limiter and the metrics.
  const rawTransport = await vaultTransport(vault);
  const limiter = new RateLimiter(clock, vault.qps, vault.burst);
  const transport = guardedTransport(rawTransport, {
    limiter,
    rate: new AdaptiveRate(clock, limiter.bucket),
    breaker: new CircuitBreaker(clock, random, {
      closed() {
        logger.info('Vault answers again; paths that found it unavailable are read now');
        deps.reachable?.();
      },
    }),
    clock,
    observer: {
      requested(operation, outcome, seconds) {
        logger.debug('vault request', { operation, status: outcome, seconds });
        metrics.vaultRequests.inc({ operation, status: outcome });
        metrics.vaultRequestDuration.observe({ operation }, seconds);
      },
    },
  });
  const api = (over: VaultTransport): VaultApi =>
    createVaultApi({
      address: vault.address,
      transport: over,
      ...(vault.namespace ? { namespace: vault.namespace } : {}),
    });
  // Unguarded: the labels are read once at start and count against nothing.
  const identity = await vaultIdentity(api(rawTransport));
  metrics.setVaultIdentity({ address: vault.address, engine: vault.engine, ...identity });
  metrics.maxTokenTtl.set(metrics.vaultLabels, vault.maxTokenTtlSeconds);
  const readers = (credentials: Credentials, who: Record<string, string>): VaultReaders => {
    // One client per identity: a login can never hand its token to another identity's requests.
    const client = api(transport);
    // The issuer needs the token manager, which asks the issuer whether leases hang from its token.
    const holder: { issuer?: VaultIssuer } = {};
    const tokens = new TokenManager({
      keepToken: () => holder.issuer?.holdsLeases() ?? false,
      vault: client,
      credentials,
      clock,
      random,
      renewIncrementSeconds: vault.renewTtlIncrementSeconds,
      nearExpirySeconds: vault.maxTokenTtlSeconds,
      observer: {
        loggedIn: (method) => {
          logger.info('logged in to Vault', { method, ...who });
          // The token before this one ends soon, and the leases it issued with it.
          const orphaned = holder.issuer?.tokenReplaced() ?? [];
          if (orphaned.length > 0) deps.changed?.(orphaned);
        },
        renewed: () => logger.debug('Vault token renewed', who),
        failed: (operation, error) => {
          metrics.tokenOperationFailed(operation);
          logger.warn('Vault token operation failed', {
            operation,
            reason: error.reason,
            error: error.message,
            ...who,
          });
        },
      },
    });
    const kv = new KvReader({
      vault: client,
      tokens,
      clock,
      engine: vault.engine,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const store = deps.leaseTokens;
    const identity = who['namespace'] === undefined ? 'operator' : `namespace.${who['namespace']}`;
    const issuer = new VaultIssuer({
      vault: client,
      tokens,
      clock,
      random,
      renewIncrementSeconds: vault.renewTtlIncrementSeconds,
      logger,
      ...(store
        ? {
            store: {
              read: () => store.read(identity),
              keep: (token: string) => store.keep(identity, token),
              forget: () => store.forget(identity),
            },
          }
        : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    holder.issuer = issuer;
    return { tokens, kv, issuer };
  };

  const tenant = vault.tenant;
  if (vault.authScope === 'namespace' && tenant) {
    const requestToken = deps.requestToken;
    if (!requestToken) throw new Error('namespace scope needs a service-account token requester');
    return {
      operator: undefined,
      limiter,
      forNamespace: (namespace) =>
        readers(
          kubernetesCredentials({
            mount: vault.kubernetesPath,
            role: tenantRoleFor(tenant.role, namespace),
            jwt: async () => {
              try {
                return await requestToken(namespace, tenant.serviceAccount);
              } catch (error) {
                // A namespace that cannot prove its identity cannot read: a clear condition.
                throw new ProviderError(
                  'AuthenticationFailed',
                  error instanceof Error ? error.message : String(error),
                );
              }
            },
          }),
          { namespace },
        ),
    };
  }
  return { operator: readers(credentialsFor(vault), {}), forNamespace: undefined, limiter };
}
