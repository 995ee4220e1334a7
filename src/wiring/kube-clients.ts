// The operator's Kubernetes clients, all on one KubeConfig and so one connection pool: one for the
// caches, one for the work that writes (its requests end with the leadership term), both under
// --kube-api-qps/--kube-api-burst, and one for leader election alone, outside that limit, so that
// a busy sync can never delay a Lease renewal into a lost leadership. All count their requests as
// client-go does.

import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import type { SignalSource } from '../kube/cancel.ts';
import { kubeApi, type KubeApi } from '../kube/kube-api.ts';
import { loadKubeConfig, serverHost } from '../kube/kubeconfig.ts';
import type { RuntimeMetrics } from '../observability/runtime-metrics.ts';
import { RateLimiter } from '../rate-limit/rate-limiter.ts';
import type { Runnable } from './manager.ts';

export interface KubeClients {
  /** For the caches: lists and watches, on every replica. */
  readonly reads: KubeApi;
  /** For the work that writes: every request is aborted when the leadership term ends. */
  readonly writes: KubeApi;
  /** For leader election alone. */
  readonly lease: KubeApi;
  /** Closes the connections when the operator stops. */
  readonly runnable: Runnable;
}

export function kubeClients(
  config: Config,
  clock: Clock,
  runtime: RuntimeMetrics,
  logger: Logger,
  term: SignalSource,
): KubeClients {
  const loaded = loadKubeConfig({
    ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
    execFailed: (message, fields) => logger.warn(message, fields),
  });
  const host = serverHost(loaded.server);
  logger.info('kubernetes connection', { server: host, from: loaded.source });
  const limiter = new RateLimiter(clock, config.kubeApi.qps, config.kubeApi.burst);
  const throttle = (): Promise<void> => limiter.take();
  const { kubeConfig } = loaded;
  kubeConfig.observeExchanges((method, status) => runtime.restRequest(host, method, status));
  return {
    reads: kubeApi(kubeConfig, { throttle }),
    writes: kubeApi(kubeConfig, { throttle, signal: term }),
    lease: kubeApi(kubeConfig),
    runnable: { name: 'Kubernetes clients', stop: () => kubeConfig.close() },
  };
}
