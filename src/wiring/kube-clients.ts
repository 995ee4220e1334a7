// The operator's Kubernetes clients, all on one KubeConfig and so one connection pool: one for the
// caches, one for the work that writes (its requests end with the leadership term), both under
// --kube-api-qps/--kube-api-burst (status patches and Events behind Secrets), and one for leader election alone, outside that limit, so that
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
import { instanceIdentity, kubeUserAgent } from './identity.ts';
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

/** A status patch or an Event: a report of work done, not the work. */
const reportPath = /\/status$|\/events(\/|$)/;

/**
 * The --kube-api-qps limit as requests take it: when they wait, status patches and Events go after
 * Secret writes and reads (the limiter's refresh class), so reports never hold up the Secrets.
 */
export function kubeThrottle(limiter: RateLimiter): (path: string) => Promise<void> {
  return (path) => limiter.take(reportPath.test(path) ? 'refresh' : 'first');
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
  const throttle = kubeThrottle(new RateLimiter(clock, config.kubeApi.qps, config.kubeApi.burst));
  const { kubeConfig } = loaded;
  const userAgent = kubeUserAgent(instanceIdentity());
  kubeConfig.observeExchanges((method, status) => runtime.restRequest(host, method, status));
  return {
    reads: kubeApi(kubeConfig, { throttle, userAgent }),
    writes: kubeApi(kubeConfig, { throttle, signal: term, userAgent }),
    lease: kubeApi(kubeConfig, { userAgent }),
    runnable: { name: 'Kubernetes clients', stop: () => kubeConfig.close() },
  };
}
