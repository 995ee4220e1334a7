// Rollout restarts, wired (--rollout-restart): the workload caches, and the Restarter that patches
// workloads through the leader's client and reports each restart as Events and a count.

import type { Clock, Random } from '../clock.ts';
import type { Config } from '../config.ts';
import { Restarter } from '../controller/restarter.ts';
import type { KubeClients } from './kube-clients.ts';
import type { EventRecorder } from '../kube/events.ts';
import { restartWorkload } from '../kube/restart-workload.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Runnable } from './manager.ts';
import { WorkloadCaches } from './workloads.ts';

export interface RestartsWiring {
  readonly config: Config;
  /** The caches read with `reads`; patches go through `writes`, ending with the leadership term. */
  readonly kube: Pick<KubeClients, 'reads' | 'writes'>;
  /** The operator's one Event recorder (wiring/events.ts): a definition's sync and restart Events share its burst. */
  readonly events: EventRecorder;
  readonly clock: Clock;
  readonly random: Random;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface Restarts {
  readonly restarter: Restarter;
  /** Why the workload caches are not synced yet; undefined once they are. */
  readonly notSynced: () => string | undefined;
  readonly runnables: Runnable[];
}

export function wireRestarts(w: RestartsWiring): Restarts {
  const { config, kube, clock, random, metrics, logger } = w;
  const workloads = new WorkloadCaches({ ...config, kube: kube.reads, clock, random, logger });
  const restarter = new Restarter({
    workload: (kind, namespace, name) => workloads.workload(kind, namespace, name),
    autoReloaders: (namespace, secret) => workloads.autoReloaders(namespace, secret),
    patch: (workload, restartedFor) => restartWorkload(kube.writes, workload, restartedFor),
    remember: (workload, basedOn) => workloads.remember(workload, basedOn),
    events: w.events,
    clock,
    minIntervalMs: config.rolloutRestart.minIntervalMs,
    observer: { restarted: (kind) => metrics.rolloutRestarts.inc({ kind }) },
    logger,
  });
  return {
    restarter,
    notSynced: () => workloads.notSynced,
    runnables: [workloads.runnable(), { name: 'rollout restarts', stop: () => restarter.stop() }],
  };
}
