// The leadership runnable hands the work a term that checks its deadline as it is read, so a
// replica woken from a freeze finds it no longer leads before its first write, not after.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { RuntimeMetrics } from '../../../src/observability/runtime-metrics.ts';
import { leadershipRunnable } from '../../../src/wiring/leadership.ts';
import { FakeClock } from '../../support/fake-clock.ts';

/** A Lease API that holds one Lease and gives each write the next resourceVersion. */
function leaseClient(): KubeApi {
  let stored: { metadata: Record<string, unknown>; spec: unknown } | undefined;
  let version = 0;
  const keep = (body: { metadata?: Record<string, unknown>; spec?: unknown }) => {
    version += 1;
    stored = { metadata: { ...body.metadata, resourceVersion: String(version) }, spec: body.spec };
    return stored;
  };
  return {
    coordination: {
      readNamespacedLease: async () => {
        if (!stored) throw new ApiException(404, 'not found', { kind: 'Status', code: 404 }, {});
        return stored;
      },
      createNamespacedLease: async ({ body }: { body: { metadata?: Record<string, unknown> } }) => keep(body),
      replaceNamespacedLease: async ({ body }: { body: { metadata?: Record<string, unknown> } }) =>
        keep(body),
    },
  } as unknown as KubeApi;
}

test('the term the work reads is ended by its deadline as it is read, though no timer has run since a freeze', async () => {
  const clock = new FakeClock();
  const metrics = new Metrics();
  let term: (() => AbortSignal) | undefined;
  const runnable = leadershipRunnable({
    client: leaseClient(),
    config: {
      enabled: true,
      namespace: 'ops',
      name: 'lease',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    },
    clock,
    metrics,
    runtime: new RuntimeMetrics(metrics.registry, 'SecretDefinition'),
    logger: createLogger({ level: 'error', format: 'json', stream: new PassThrough() }),
    leading: (signal) => (term = signal),
    lost: () => undefined,
  });
  await runnable.start?.(new AbortController().signal);
  assert.ok(term, 'leading');
  assert.equal(term().aborted, false);
  clock.freeze(10_000);
  assert.equal(term().aborted, true, 'past the deadline: ended as it is read');
  await runnable.stop?.();
});
