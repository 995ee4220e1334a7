// The reconciler, wired: the caches it reads, the provider it asks, the access policy it applies,
// and the Kubernetes writers, Event recorder and metrics it reports through.

import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { Issuance } from '../controller/issuance.ts';
import { Reconciler } from '../controller/reconciler.ts';
import type { Restarter } from '../controller/restarter.ts';
import type { TemplateRenderer } from '../controller/template.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { kubeDefinitionWriter } from '../kube/definition-writer.ts';
import type { EventRecorder } from '../kube/events.ts';
import { kubeSecretApi } from '../kube/secret-api.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { allowAll, type AccessPolicy } from '../policy/access-policy.ts';
import type { SecretProvider } from '../providers/provider.ts';
import type { Caches } from './caches.ts';

export interface ReconcilerWiring {
  readonly config: Config;
  /** The work's client: every write ends with the leadership term. */
  readonly kube: KubeApi;
  readonly fieldManager: string;
  /** The operator's one Event recorder (wiring/events.ts). */
  readonly events: EventRecorder;
  readonly caches: Caches;
  readonly provider: SecretProvider;
  /** The access policy in force now; undefined: tenancy is off. */
  readonly policy: () => AccessPolicy | undefined;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Rollout restarts after a sync (--rollout-restart). */
  readonly restarts?: Pick<Restarter, 'secretInSync'>;
  /** Renders spec.template (a thread of its own). */
  readonly templates: TemplateRenderer;
}

const result = (ok: boolean): { result: string } => ({ result: ok ? 'success' : 'error' });

/** What PKI and dynamic definitions issued, counted and timed in the metrics. */
export function wireIssuance(
  w: Pick<ReconcilerWiring, 'config' | 'kube' | 'fieldManager' | 'metrics' | 'clock' | 'logger'>,
): Issuance {
  const { metrics } = w;
  return new Issuance({
    clock: w.clock,
    secrets: kubeSecretApi(w.kube, w.fieldManager),
    graceMs: w.config.leaseRevokeGraceMs,
    observer: {
      issued: (engine, ok) => metrics.issued.inc({ engine, ...result(ok) }),
      renewed: (ok) => metrics.leaseRenewals.inc(result(ok)),
      revoked: (ok) => metrics.leaseRevocations.inc(result(ok)),
      cleared: (namespace, name) => {
        for (const gauge of [
          metrics.certificateExpiry,
          metrics.leaseExpiry,
          metrics.certificateRenewal,
          metrics.leaseRenewal,
        ])
          gauge.remove({ namespace, name });
      },
      expires: (namespace, name, engine, atMs) =>
        (engine === 'pki' ? metrics.certificateExpiry : metrics.leaseExpiry).set(
          { namespace, name },
          atMs / 1000,
        ),
      renewsAt: (namespace, name, engine, atMs) =>
        (engine === 'pki' ? metrics.certificateRenewal : metrics.leaseRenewal).set(
          { namespace, name },
          atMs / 1000,
        ),
    },
    logger: w.logger,
  });
}

export function wireReconciler(w: ReconcilerWiring & { readonly issuance: Issuance }): Reconciler {
  const { config, kube, caches, provider, metrics, clock, logger } = w;
  return new Reconciler({
    definition: (key) => caches.definition(key),
    liveSecret: (key) => caches.liveSecret(key),
    rememberSecret: (secret, basedOn) => caches.rememberSecret(secret, basedOn),
    forgetSecret: (key) => caches.forgetSecret(key),
    secretIndex: caches.secretIndex,
    targetIndex: caches.targets,
    backend: provider.backend,
    sources: (namespace) => provider.sources(namespace),
    access: () => w.policy() ?? allowAll,
    secrets: kubeSecretApi(kube, w.fieldManager),
    definitions: kubeDefinitionWriter(kube),
    rememberDefinition: (answered, basedOn) => caches.rememberDefinition(answered, basedOn),
    events: w.events,
    clock,
    defaultRefreshMs: config.reconcilePeriodMs,
    refreshStretched: () => provider.refreshStretched(),
    ...(w.restarts ? { restarts: w.restarts } : {}),
    templates: w.templates,
    issuance: w.issuance,
    observer: {
      synced: (namespace, name, ok, reason) =>
        metrics.recordSync(namespace, name, ok, reason, clock.now() / 1000),
      forgotten: (namespace, name) => metrics.forgetDefinition(namespace, name),
      secretWritten: (operation) => metrics.secretWrites.inc({ operation }),
      secretReadFailed: (namespace, definition, secretName) =>
        metrics.secretReadFailed(namespace, definition, secretName),
      reads: (namespace, name, secretName, reads) =>
        metrics.definitionReads(namespace, name, secretName, reads),
      readFailed: (namespace, definition, path, key, error) =>
        provider.readFailed(`${namespace}/${definition}`, path, key, error),
    },
    logger,
  });
}
