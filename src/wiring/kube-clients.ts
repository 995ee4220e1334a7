// The operator's two Kubernetes clients on one connection: one for everything under
// --kube-api-qps/--kube-api-burst, and one for leader election alone, so that a busy sync can
// never delay a Lease renewal into a lost leadership. Both count their requests as client-go does.

import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { KubeClient } from '../kube/client.ts';
import { loadKubeConnection, serverHost } from '../kube/connection.ts';
import type { RuntimeMetrics } from '../observability/runtime-metrics.ts';
import { RateLimiter } from '../rate-limiter.ts';
import type { Runnable } from './manager.ts';

export interface KubeClients {
  readonly kube: KubeClient;
  readonly lease: KubeClient;
  /** Closes both when the operator stops. */
  readonly runnable: Runnable;
}

export function kubeClients(
  config: Config,
  clock: Clock,
  runtime: RuntimeMetrics,
  logger: Logger,
): KubeClients {
  const connection = loadKubeConnection(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {});
  const host = serverHost(connection.server);
  logger.info('kubernetes connection', { server: host, from: connection.source });
  const limiter = new RateLimiter(clock, config.kubeApi.qps, config.kubeApi.burst);
  const onResponse = (method: string, status: number | undefined): void =>
    runtime.restRequest(host, method, status);
  const kube = new KubeClient(connection, { throttle: () => limiter.take(), onResponse });
  const lease = new KubeClient(connection, { onResponse });
  return {
    kube,
    lease,
    runnable: { name: 'Kubernetes clients', stop: () => [kube, lease].forEach((c) => c.close()) },
  };
}
