// Vault (and OpenBao) as a SecretProvider: the clients of the configured auth method, one identity
// per namespace or the operator's own for all, each with its KV reader and its path poller, all
// behind one rate limit and one refresh budget.

import { backendWords } from '../../api/backends.ts';
import { backoff } from '../../clock.ts';
import type { VaultConfig } from './config.ts';
import type { TokenRequester } from '../../kube/service-account-token.ts';
import { describeError } from '../../describe-error.ts';
import { sharedPolling, type ProviderDeps } from '../polling.ts';
import type { SecretProvider } from '../provider.ts';
import { createVaultClients, type VaultReaders } from './clients.ts';
import { AuditStream } from './audit-stream.ts';
import { VaultIdentities, type VaultIdentity } from './identities.ts';

/** Changes of one path this close together are one read. */
const auditCoalesceMs = 100;

export async function createVaultProvider(
  config: VaultConfig,
  deps: ProviderDeps & { readonly requestToken: TokenRequester },
): Promise<SecretProvider> {
  const { clock, random, metrics, logger } = deps;
  // Vault back after the breaker was open: what found it unavailable is read now, not after its
  // backoff. Only a request can close the breaker, and none is made before the identities are.
  const built: { identities?: VaultIdentities } = {};
  const reachable = (): void => built.identities?.all().forEach((i) => i.poller.retryUnavailable());
  const clients = await createVaultClients(config, { ...deps, reachable });
  const polling = sharedPolling(config.qps, backendWords.vault, deps);
  // While Vault's audit stream is connected it carries every change: polling is only the safety
  // net for an entry lost on a reconnect, and each path waits at least --vault.audit-refresh-interval.
  let streamUp = false;
  const minInterval = (): number =>
    streamUp && config.auditListen ? config.auditListen.refreshIntervalMs : 0;
  const identity = ({ tokens, kv, issuer }: VaultReaders): VaultIdentity => ({
    tokens,
    kv,
    issuer,
    poller: polling.poller(kv, minInterval),
  });
  const { operator, forNamespace } = clients;
  const identities = new VaultIdentities(
    operator && identity(operator),
    (namespace) => {
      if (!forNamespace) throw new Error('no per-namespace Vault identity in operator scope');
      return identity(forNamespace(namespace));
    },
    clock,
  );
  built.identities = identities;

  // A token up front, so readiness does not wait for the first definition; failures back off.
  const loginUntilReady = async (signal: AbortSignal): Promise<void> => {
    if (!operator) return;
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        await operator.tokens.token();
        return;
      } catch (error) {
        logger.warn('Vault login failed; retrying', { attempt, error: describeError(error) });
        await clock.sleep(backoff(attempt, 1_000, 60_000, random), signal);
      }
    }
  };

  // Vault's audit stream: a change of a polled path is read at once, for every identity polling it.
  const audit = config.auditListen
    ? new AuditStream({
        host: config.auditListen.host,
        port: config.auditListen.port,
        namespace: config.namespace ?? '',
        changed: (secret) =>
          identities.all().reduce(
            (sum, i) => {
              const found = i.poller.changed(secret, auditCoalesceMs);
              return { sources: sum.sources + found.sources, reads: sum.reads + found.reads };
            },
            { sources: 0, reads: 0 },
          ),
        observer: {
          received: () => metrics.auditEntries.inc(),
          matched: (reads) => {
            metrics.auditMatched.inc();
            metrics.auditRereads.inc(reads);
          },
          dropped: (reason) => metrics.auditDropped.inc({ reason }),
          connected: (up) => {
            metrics.auditConnected.set(up ? 1 : 0);
            streamUp = up;
            for (const i of identities.all()) i.poller.intervalsChanged();
          },
        },
        logger,
      })
    : undefined;
  if (audit) {
    metrics.auditConnected.set(0);
    await audit.listen();
  }

  return {
    backend: 'vault',
    sources: (namespace) => ({
      resolve: (path) => identities.for(namespace).kv.resolve(path),
      track: (user, sources, intervalMs) => identities.for(namespace).poller.track(user, sources, intervalMs),
      // Forgetting needs no identity: a released namespace is not brought back for it.
      untrack: (user) => identities.existing(namespace)?.poller.untrack(user),
      get: (source, fresh) => identities.for(namespace).poller.get(source, fresh),
      issue: (request, user) => identities.for(namespace).issuer.issue(request, user),
      renewLease: (leaseId, increment) =>
        identities.lessor(namespace, leaseId).issuer.renewLease(leaseId, increment),
      async revokeLease(leaseId) {
        await identities.lessor(namespace, leaseId).issuer.revokeLease(leaseId);
        await identities.leaseEnded(namespace);
      },
      adoptLease: (leaseId, expiresAt, user) =>
        identities.lessor(namespace).issuer.adopt(leaseId, expiresAt, user),
      leaseEndsBy: (leaseId) => identities.lessor(namespace, leaseId).issuer.leaseEndsBy(leaseId),
    }),
    definitionAdded: (namespace) => identities.definitionAdded(namespace),
    definitionRemoved(namespace) {
      void identities.definitionRemoved(namespace).then((revoked) => {
        if (revoked)
          logger.info('namespace has no SecretDefinitions left; its Vault token was revoked', { namespace });
      });
    },
    start: (signal) => void loginUntilReady(signal),
    // In namespace scope there is no token of the operator's own to wait for.
    notReady: () => (operator && !operator.tokens.hasValidToken() ? 'no valid Vault token' : undefined),
    refreshStretched: () => polling.budget.isStretched,
    readFailed: (definition, path, key, error) => metrics.vaultReadFailed(definition, path, key, error),
    collect() {
      // The token closest to expiry: the operator's, or the first namespace's to run out.
      const remaining = identities
        .all()
        .map((i) => i.tokens.remainingSeconds())
        .reduce<number | undefined>(
          (least, r) => (r === undefined ? least : Math.min(least ?? r, r)),
          undefined,
        );
      metrics.tokenTtl.set(
        metrics.vaultLabels,
        remaining === undefined ? 0 : Number.isFinite(remaining) ? remaining : -1,
      );
      metrics.tokenExpiry.set(
        remaining === undefined || !Number.isFinite(remaining) ? 0 : clock.now() / 1000 + remaining,
      );
      metrics.polledSources.set(identities.all().reduce((n, i) => n + i.poller.size, 0));
      metrics.recordStretch(polling.budget.current, clients.limiter.qps);
    },
    async stop() {
      await audit?.stop();
      polling.budget.stop();
      await identities.stop();
    },
  };
}
