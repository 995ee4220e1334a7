// Events per object, rate limited as client-go's event correlator does: each object has a bucket
// of `burst` Events that refills by one every `refillMs`. A flapping Vault turns every definition's
// Ready condition back and forth; without this, each flip would be an Event for each definition.
// Dropped Events are counted for the caller; status and logs still say what happens.

import type { Clock } from '../clock.ts';
import type { EventRecorder, EventTarget } from './events.ts';

export interface EventLimits {
  readonly burst: number;
  readonly refillMs: number;
}

/** client-go's defaults: 25 Events at once, then one every 5 minutes, per object. */
export const defaultEventLimits: EventLimits = { burst: 25, refillMs: 5 * 60_000 };

export function rateLimitedEvents(
  inner: EventRecorder,
  clock: Clock,
  limits: EventLimits,
  onDropped: (target: EventTarget, reason: string) => void,
): EventRecorder {
  // Only objects whose bucket is not full are kept: an object at rest costs nothing.
  const buckets = new Map<string, { tokens: number; updatedAt: number }>();
  let lastSweep = clock.now();
  return {
    async record(target, type, reason, message) {
      const now = clock.now();
      const bucket = buckets.get(target.uid) ?? { tokens: limits.burst, updatedAt: now };
      bucket.tokens = Math.min(limits.burst, bucket.tokens + (now - bucket.updatedAt) / limits.refillMs);
      bucket.updatedAt = now;
      if (bucket.tokens < 1) {
        buckets.set(target.uid, bucket);
        onDropped(target, reason);
        return;
      }
      bucket.tokens -= 1;
      buckets.set(target.uid, bucket);
      // Forget full buckets once per refill period, so deleted objects do not stay.
      if (now - lastSweep >= limits.refillMs) {
        lastSweep = now;
        for (const [uid, b] of buckets) {
          if (Math.min(limits.burst, b.tokens + (now - b.updatedAt) / limits.refillMs) >= limits.burst)
            buckets.delete(uid);
        }
      }
      await inner.record(target, type, reason, message);
    },
  };
}
