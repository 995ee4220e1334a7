// Leader election as a runnable: its start waits until this instance holds the Lease, then
// watches the term; losing it stops the operator, so that only the leader writes. The gauges say
// who leads from the moment the term begins or ends, as client-go reports it.

import { instanceIdentity } from './identity.ts';
import type { Clock } from '../clock.ts';
import type { LeaderElectionConfig } from '../config.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { describeError } from '../describe-error.ts';
import { kubeLeaseApi, LeaderElector } from '../kube/leader-elector.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { RuntimeMetrics } from '../observability/runtime-metrics.ts';
import type { Runnable } from './manager.ts';

export interface LeadershipWiring {
  /** The client of leader election alone (see kube-clients.ts). */
  readonly client: KubeApi;
  readonly config: LeaderElectionConfig;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly runtime: RuntimeMetrics;
  readonly logger: Logger;
  /**
   * This instance leads: its work runs under the signal `term` answers, which aborts when
   * leadership ends. Read it as each request starts: it checks the term's deadline then.
   */
  readonly leading: (term: () => AbortSignal) => void;
  /** Leadership was lost while running. */
  readonly lost: () => void;
}

export function leadershipRunnable(w: LeadershipWiring): Runnable {
  const { metrics, runtime, logger } = w;
  const elector = new LeaderElector(kubeLeaseApi(w.client), {
    ...w.config,
    identity: instanceIdentity(),
    clock: w.clock,
    onError: (error) => logger.warn('leader election error', { error: describeError(error) }),
  });
  const lease = w.config.name;
  runtime.leading(lease, false);
  return {
    name: 'leader election',
    async start() {
      logger.info('waiting to become leader', { lease: `${w.config.namespace}/${lease}` });
      const term = await elector.acquire();
      logger.info('became leader');
      runtime.leading(lease, true);
      // Not leading from the moment the term ends: never two instances at 1.
      term.addEventListener(
        'abort',
        () => {
          runtime.leading(lease, false);
          metrics.leader.set(0);
        },
        { once: true },
      );
      w.leading(() => {
        elector.checkDeadline();
        return term;
      });
      void elector.hold().then(() => w.lost());
    },
    async stop() {
      await elector.release();
      runtime.leading(lease, false);
    },
  };
}
