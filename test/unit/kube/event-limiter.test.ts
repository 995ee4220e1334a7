import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimitedEvents } from '../../../src/kube/event-limiter.ts';
import type { EventTarget } from '../../../src/kube/events.ts';
import { FakeClock } from '../../support/fake-clock.ts';

test('each object gets a burst of Events, then one per refill period; other objects are not affected', async () => {
  const clock = new FakeClock();
  const sent: string[] = [];
  const dropped: string[] = [];
  const events = rateLimitedEvents(
    { record: async (target, _type, reason) => void sent.push(`${target.name}:${reason}`) },
    clock,
    { burst: 3, refillMs: 60_000 },
    (target, reason) => dropped.push(`${target.name}:${reason}`),
  );
  const a: EventTarget = { namespace: 'ns', name: 'a', uid: 'uid-a' };
  const b: EventTarget = { namespace: 'ns', name: 'b', uid: 'uid-b' };
  // A flapping Vault: five transitions of a in a row.
  for (let i = 0; i < 5; i += 1) await events.record(a, 'Warning', `flip${i}`, 'm');
  await events.record(b, 'Warning', 'other', 'm');
  assert.deepEqual(sent, ['a:flip0', 'a:flip1', 'a:flip2', 'b:other']);
  assert.deepEqual(dropped, ['a:flip3', 'a:flip4']);
  await clock.advance(60_000);
  await events.record(a, 'Normal', 'Synced', 'm');
  await events.record(a, 'Normal', 'Synced', 'm');
  assert.deepEqual(sent.slice(4), ['a:Synced'], 'one more after one refill period');
});
