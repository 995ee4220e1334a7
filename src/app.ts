// Wiring and lifecycle: the only place that knows every part. It builds the Vault and Kubernetes
// clients from the Config, waits for leadership when asked to, starts informers, the Vault poller
// and the workers, and stops them in order on shutdown.

import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { plural } from './api/types.ts';
import { systemClock, type Clock, type Random } from './clock.ts';
import type { Config } from './config.ts';
import { WorkQueue } from './controller/queue.ts';
import { Reconciler } from './controller/reconciler.ts';
import { runWorker, type WorkerObserver } from './controller/worker.ts';
import { secretKey, SecretIndex } from './controller/secret-index.ts';
import { TargetIndex } from './controller/target-index.ts';
import { kubeDefinitionWriter } from './kube/definition-writer.ts';
import { KubeClient } from './kube/client.ts';
import { loadKubeConnection, serverHost } from './kube/connection.ts';
import { defaultEventLimits, rateLimitedEvents } from './kube/event-limiter.ts';
import { kubeEventRecorder } from './kube/events.ts';
import { describeError, Informer } from './kube/informer.ts';
import { LeaderElector } from './kube/leader-elector.ts';
import { toLiveSecret, type LiveSecret } from './kube/live-secret.ts';
import { kubeSecretApi } from './kube/secret-api.ts';
import { trimDefinition } from './kube/trim-definition.ts';
import { kubeTokenRequester } from './kube/service-account-token.ts';
import { definitionSource, managedSecretSource } from './kube/sources.ts';
import type { Logger } from './observability/logger.ts';
import { stringOr } from './text.ts';
import { Metrics } from './observability/metrics.ts';
import { RuntimeMetrics } from './observability/runtime-metrics.ts';
import { startHttpServer } from './observability/server.ts';
import { allowAll } from './policy/access-policy.ts';
import { PolicyFile } from './policy/policy-file.ts';
import { RateLimiter } from './rate-limiter.ts';
import { Manager, type Runnable } from './wiring/manager.ts';
import type { ProviderDeps } from './providers/polling.ts';
import type { SecretProvider } from './providers/provider.ts';
import { createVaultProvider } from './providers/vault/provider.ts';

/** The field manager of every apply; the original's Secrets are taken over from their managers. */
export const fieldManager = 'secrets-manager';
/** How often the access policy file is checked for a change. */
const policyCheckMs = 2_000;

export interface AppDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
}

export type StopCause = 'requested' | 'lost-leadership' | 'failed';

export interface App {
  readonly metrics: Metrics;
  /** Resolves when the operator has stopped, with why. */
  readonly stopped: Promise<StopCause>;
  stop(cause?: StopCause): Promise<void>;
}

export async function startApp(config: Config, deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const metrics = new Metrics();
  const runtime = new RuntimeMetrics(metrics.registry, config.controllerName);
  // Every request to the apiserver under --kube-api-qps/--kube-api-burst, except leader election:
  // its own client, so a busy sync can never delay a Lease renewal into a lost leadership.
  const kubeConnection = loadKubeConnection(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {});
  const kubeLimiter = new RateLimiter(clock, config.kubeApi.qps, config.kubeApi.burst);
  const apiHost = serverHost(kubeConnection.server);
  const onResponse = (method: string, status: number | undefined): void =>
    runtime.restRequest(apiHost, method, status);
  const kube = new KubeClient(kubeConnection, { throttle: () => kubeLimiter.take(), onResponse });

  // The leadership term: once it ends, every in-flight Vault read and Kubernetes request is
  // aborted and every new one fails at once, so a replica that lost the Lease writes nothing more.
  let term: AbortSignal | undefined;
  const workSignal = (): AbortSignal | undefined => term;
  let enqueueAll = (): void => undefined;
  const providerDeps: ProviderDeps = {
    clock,
    random,
    metrics,
    logger,
    signal: workSignal,
    changed: (users) => users.forEach((key) => queue.add(key)),
    // The Ready reason of every definition says whether its refreshes are stretched.
    stretchChanged: () => enqueueAll(),
  };
  // Each backend is loaded only when chosen: a Vault operator never loads the Azure SDKs.
  const provider: SecretProvider = config.azureKv
    ? (await import('./providers/azure-kv/provider.ts')).createAzureKvProvider(config.azureKv, providerDeps)
    : await createVaultProvider(config.vault, {
        ...providerDeps,
        requestToken: kubeTokenRequester(kube, config.vault.tenant?.audience, workSignal),
      });
  // Opened before anything runs: a missing or invalid policy file stops the start.
  const policyFile = config.accessPolicyFile
    ? await PolicyFile.open({
        path: config.accessPolicyFile,
        logger,
        checkEveryMs: policyCheckMs,
        onChange: () => enqueueAll(),
      })
    : undefined;
  if (!policyFile) {
    logger.warn(
      'no --access-policy: tenancy is off, and a SecretDefinition in any namespace may read every Vault path the operator can read',
    );
  }

  // Kubernetes: caches, indexes, the queue and the reconciler.
  const queue: WorkQueue = new WorkQueue({
    clock,
    random,
    baseDelayMs: 1_000,
    maxDelayMs: 5 * 60_000,
    observer: runtime.observeQueue(() => queue),
  });
  const excluded = new Set(config.excludeNamespaces);
  const inScope = (namespace: string): boolean => !excluded.has(namespace);
  const targets = new TargetIndex();
  const secretIndex = new SecretIndex();
  const namespaces: (string | undefined)[] = config.watchNamespaces.length
    ? config.watchNamespaces.filter(inScope)
    : [undefined];
  const informerLogger = {
    warn: (m: string, f?: Record<string, unknown>) => logger.warn(m, f),
    debug: (m: string, f?: Record<string, unknown>) => logger.debug(m, f),
  };

  type RawDefinition = { readonly key: string; readonly raw: Record<string, unknown> };
  const metaOf = (raw: Record<string, unknown>): Record<string, unknown> =>
    (raw['metadata'] ?? {}) as Record<string, unknown>;
  const targetOf = (d: RawDefinition): string | undefined => {
    const name = (d.raw['spec'] as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' ? secretKey(stringOr(metaOf(d.raw)['namespace']), name) : undefined;
  };
  /** What, in a definition update, can change the outcome of a reconcile (status does not). */
  const relevant = (d: RawDefinition): string => {
    const meta = metaOf(d.raw);
    return JSON.stringify([
      meta['generation'],
      meta['labels'],
      meta['annotations'],
      meta['deletionTimestamp'],
      meta['finalizers'],
      meta['uid'],
    ]);
  };
  const definitionInformers = namespaces.map(
    (namespace) =>
      new Informer<RawDefinition>({
        source: definitionSource(kube, namespace),
        convert: (object) => {
          const meta = metaOf((object ?? {}) as Record<string, unknown>);
          if (
            typeof meta['name'] !== 'string' ||
            typeof meta['namespace'] !== 'string' ||
            !inScope(meta['namespace'])
          )
            return undefined;
          // Only what reconcile reads is cached: no managedFields, no last-applied copy.
          return {
            key: `${meta['namespace']}/${meta['name']}`,
            raw: trimDefinition(object as Record<string, unknown>),
          };
        },
        keyOf: (d) => d.key,
        versionOf: (d) => stringOr(metaOf(d.raw)['resourceVersion']),
        handlers: {
          upserted: (d, previous) => {
            if (!previous) provider.definitionAdded(stringOr(metaOf(d.raw)['namespace']));
            targets.set(d.key, targetOf(d), stringOr(metaOf(d.raw)['creationTimestamp']));
            if (!previous || relevant(previous) !== relevant(d)) queue.add(d.key);
            const previousTarget = previous && targetOf(previous);
            if (previousTarget && previousTarget !== targetOf(d))
              targets.claimants(previousTarget).forEach((k) => queue.add(k));
          },
          deleted: (d) => {
            const namespace = stringOr(metaOf(d.raw)['namespace']);
            provider.definitionRemoved(namespace);
            const target = targetOf(d);
            targets.remove(d.key);
            queue.add(d.key);
            // A definition that lost a conflict to this one may now take the Secret.
            if (target) targets.claimants(target).forEach((k) => queue.add(k));
          },
        },
        clock,
        random,
        logger: informerLogger,
      }),
  );
  /** Every known definition back to the queue: the access policy changed. */
  enqueueAll = (): void => {
    for (const informer of definitionInformers) for (const d of informer.values()) queue.add(d.key);
  };
  const findDefinition = (key: string): unknown => {
    for (const informer of definitionInformers) {
      const found = informer.get(key);
      if (found) return found.raw;
    }
    return undefined;
  };
  const enqueueOwner = (secret: LiveSecret): void => {
    const owner = secretIndex.ownerOf(secretKey(secret.namespace, secret.name));
    if (owner) queue.add(owner);
  };
  const secretInformers = namespaces.map(
    (namespace) =>
      new Informer<LiveSecret>({
        source: managedSecretSource(kube, namespace),
        convert: (object) => {
          const secret = toLiveSecret(object, fieldManager);
          return secret && inScope(secret.namespace) ? secret : undefined;
        },
        keyOf: (s) => secretKey(s.namespace, s.name),
        versionOf: (s) => s.resourceVersion,
        handlers: {
          // Drift repair: every change to a managed Secret brings its definition back to the queue,
          // which writes only if the change touched what it manages.
          upserted: (secret) => {
            secretIndex.upserted(secret);
            enqueueOwner(secret);
          },
          deleted: (secret) => {
            enqueueOwner(secret);
            secretIndex.deleted(secret);
          },
        },
        clock,
        random,
        logger: informerLogger,
      }),
  );
  const secretInformerFor = (namespace: string): Informer<LiveSecret> | undefined =>
    config.watchNamespaces.length ? secretInformers[namespaces.indexOf(namespace)] : secretInformers[0];

  const secretApi = kubeSecretApi(kube, fieldManager, workSignal);
  const reconciler = new Reconciler({
    definition: findDefinition,
    liveSecret: (key) => secretInformerFor(key.split('/')[0] ?? '')?.get(key),
    rememberSecret: (secret, basedOn) => {
      secretIndex.upserted(secret);
      secretInformerFor(secret.namespace)?.remember(secret, basedOn);
    },
    forgetSecret: (key) => secretInformerFor(key.split('/')[0] ?? '')?.forget(key),
    secretIndex,
    targetIndex: targets,
    backend: provider.backend,
    sources: (namespace) => provider.sources(namespace),
    access: () => policyFile?.policy ?? allowAll,
    secrets: secretApi,
    definitions: kubeDefinitionWriter(kube, workSignal),
    events: rateLimitedEvents(
      kubeEventRecorder(
        kube,
        config.controllerName,
        (error) => logger.debug('could not record an Event', { error: describeError(error) }),
        workSignal,
      ),
      clock,
      defaultEventLimits,
      (target, reason) =>
        logger.debug('Event dropped by the per-object rate limit', {
          namespace: target.namespace,
          definition: target.name,
          reason,
        }),
    ),
    clock,
    defaultRefreshMs: config.reconcilePeriodMs,
    refreshStretched: () => provider.refreshStretched(),
    observer: {
      synced: (namespace, name, ok, reason) =>
        metrics.recordSync(namespace, name, ok, reason, clock.now() / 1000),
      forgotten: (namespace, name) => metrics.forgetDefinition(namespace, name),
      secretWritten: (operation) => metrics.secretWrites.inc({ operation }),
      secretReadFailed: (namespace, definition, secretName) =>
        metrics.secretReadFailed(namespace, definition, secretName),
      readFailed: (namespace, definition, path, key, error) =>
        provider.readFailed(`${namespace}/${definition}`, path, key, error),
    },
    logger,
  });

  // Metrics that are read at scrape time.
  metrics.beforeScrape = () => {
    metrics.queueDepth.set(queue.depth);
    provider.collect();
  };

  const leaseClient = new KubeClient(kubeConnection, { onResponse });
  const elector = config.leaderElection.enabled
    ? new LeaderElector(leaseClient, {
        ...config.leaderElection,
        identity: `${hostname()}_${process.pid}`,
        clock,
        onError: (error) => logger.warn('leader election error', { error: describeError(error) }),
      })
    : undefined;
  let phase: 'standby' | 'starting' | 'running' | 'stopping' = elector ? 'standby' : 'starting';
  if (elector) runtime.leading(config.leaderElection.name, false);
  const informers: Informer<unknown>[] = [...definitionInformers, ...secretInformers] as Informer<unknown>[];
  const server: Server = await startHttpServer(config.metricsAddress, metrics.registry, {
    notReady() {
      if (phase === 'standby') return undefined;
      if (phase === 'stopping') return 'stopping';
      if (!informers.every((i) => i.synced)) return 'caches are not synced yet';
      return provider.notReady();
    },
  });
  logger.info('secrets-manager started', {
    backend: provider.backend,
    ...(config.azureKv
      ? { azureKeyVault: config.azureKv.url, authMethod: config.azureKv.auth.method }
      : {
          vault: config.vault.address,
          authMethod: config.vault.authMethod,
          authScope: config.vault.authScope,
          engine: config.vault.engine,
        }),
    namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
    excluded: config.excludeNamespaces,
    metrics: `${config.metricsAddress.host ?? ''}:${config.metricsAddress.port}`,
    leaderElection: config.leaderElection.enabled,
    accessPolicy: config.accessPolicyFile
      ? { file: config.accessPolicyFile, rules: policyFile?.policy.rules.length }
      : 'none (tenancy off)',
  });

  const workers: Promise<void>[] = [];
  const workerObserver: WorkerObserver = {
    started: () => runtime.reconcileStarted(),
    reconciled(key, result, seconds) {
      runtime.reconciled(result, seconds);
      metrics.reconcileDuration.observe({ result: result.kind }, seconds);
      logger.debug('reconciled', { definition: key, result: result.kind, seconds });
    },
    crashed: (key, error) =>
      logger.error('reconcile failed unexpectedly', { definition: key, error: describeError(error) }),
  };

  const leadership: Runnable | undefined = elector && {
    name: 'leader election',
    async start() {
      const lease = config.leaderElection.name;
      logger.info('waiting to become leader', { lease: `${config.leaderElection.namespace}/${lease}` });
      term = await elector.acquire();
      logger.info('became leader');
      runtime.leading(lease, true);
      // Not leading from the moment the term ends, as client-go reports it: never two at 1.
      term.addEventListener(
        'abort',
        () => {
          runtime.leading(lease, false);
          metrics.leader.set(0);
        },
        { once: true },
      );
      void elector.hold().then(() => {
        if (phase !== 'stopping') {
          logger.error('lost leadership; stopping so that only the leader writes');
          void stop('lost-leadership');
        }
      });
      phase = 'starting';
    },
    async stop() {
      await elector.release();
      runtime.leading(config.leaderElection.name, false);
    },
  };

  // What runs, in the order it starts; it stops in the reverse order.
  const manager = new Manager(
    [
      { name: 'Kubernetes clients', stop: () => [kube, leaseClient].forEach((c) => c.close()) },
      { name: 'metrics server', stop: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      ...(leadership ? [leadership] : []),
      { name: 'leader gauge', start: () => metrics.leader.set(1), stop: () => metrics.leader.set(0) },
      // As controller-runtime's Controller.Start: its series exist once this instance leads.
      { name: 'controller metrics', start: () => runtime.controllerStarted(config.concurrency) },
      ...(policyFile
        ? [{ name: 'access policy file', start: () => policyFile.start(), stop: () => policyFile.stop() }]
        : []),
      {
        name: provider.backend,
        start: (signal) => provider.start(signal),
        stop: () => provider.stop(),
      },
      {
        name: 'informers',
        async start(signal) {
          for (const informer of informers) informer.start();
          while (!informers.every((i) => i.synced) && !signal.aborted) await clock.sleep(50, signal);
          if (signal.aborted) return;
          logger.info('caches synced', {
            definitions: definitionInformers.reduce((n, i) => n + i.size, 0),
            resource: plural,
          });
        },
        stop: async () => void (await Promise.all(informers.map((i) => i.stop()))),
      },
      {
        name: 'workers',
        start() {
          phase = 'running';
          for (let i = 0; i < config.concurrency; i += 1)
            workers.push(runWorker(queue, reconciler, clock, workerObserver));
        },
        async stop() {
          queue.shutDown();
          await Promise.all(workers);
        },
      },
    ],
    (name, error) => logger.warn('could not stop cleanly', { part: name, error: describeError(error) }),
  );

  let resolveStopped: (cause: StopCause) => void = () => undefined;
  const stopped = new Promise<StopCause>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (cause: StopCause = 'requested'): Promise<void> =>
    (stopping ??= (async () => {
      phase = 'stopping';
      logger.info('stopping: finishing in-flight work');
      await manager.stop();
      logger.info('stopped', { cause });
      resolveStopped(cause);
    })());
  manager.start().catch((error: unknown) => {
    if (phase !== 'stopping') {
      logger.error('could not start', { error: describeError(error) });
      void stop('failed');
    }
  });

  return { metrics, stopped, stop };
}
