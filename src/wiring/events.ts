// The operator's one Event recorder: syncs and rollout restarts report through it, so an object's
// Events share one per-object burst, as client-go's recorder gives each object one.

import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import { defaultEventLimits, rateLimitedEvents } from '../kube/event-limiter.ts';
import { kubeEventRecorder, type EventRecorder } from '../kube/events.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import type { Logger } from '../observability/logger.ts';

/** `kube`: the work's client, whose writes end with the leadership term. */
export function wireEvents(
  kube: KubeApi,
  controllerName: string,
  clock: Clock,
  logger: Logger,
): EventRecorder {
  return rateLimitedEvents(
    kubeEventRecorder(kube, controllerName, (error) =>
      logger.debug('could not record an Event', { error: describeError(error) }),
    ),
    clock,
    defaultEventLimits,
    (target, reason) =>
      logger.debug('Event dropped by the per-object rate limit', {
        namespace: target.namespace,
        name: target.name,
        reason,
      }),
  );
}
