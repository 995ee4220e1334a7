// The apiserver's rate limit: reports of work (status patches, Events) never queue ahead of Secrets.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.ts';
import { kubeThrottle } from '../../../src/wiring/kube-clients.ts';
import { FakeClock, flush } from '../../support/fake-clock.ts';

test('waiting status patches and Events go after Secret writes and reads, whenever those arrived', async () => {
  const clock = new FakeClock();
  const throttle = kubeThrottle(new RateLimiter(clock, 10, 1));
  const order: string[] = [];
  const send = (path: string) => void throttle(path).then(() => order.push(path));
  send('/api/v1/namespaces/a/secrets'); // the burst
  send('/apis/secrets-manager.tuenti.io/v1alpha1/namespaces/a/secretdefinitions/d/status');
  send('/api/v1/namespaces/a/events');
  send('/api/v1/namespaces/a/secrets/s');
  send('/api/v1/namespaces/a/secrets');
  await flush();
  for (let i = 0; i < 4; i += 1) await clock.advance(100);
  assert.deepEqual(order, [
    '/api/v1/namespaces/a/secrets',
    '/api/v1/namespaces/a/secrets/s',
    '/api/v1/namespaces/a/secrets',
    '/apis/secrets-manager.tuenti.io/v1alpha1/namespaces/a/secretdefinitions/d/status',
    '/api/v1/namespaces/a/events',
  ]);
});
