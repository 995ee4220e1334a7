import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from '../../../src/vault/rate-limiter.ts';
import { FakeClock, flush } from '../../support/fake-clock.ts';

test('the limiter lets a burst through at once, then one request per 1/qps', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(clock, 10, 3);
  let granted = 0;
  for (let i = 0; i < 6; i += 1) void limiter.take().then(() => (granted += 1));
  await flush();
  assert.equal(granted, 3);
  await clock.advance(100);
  assert.equal(granted, 4);
  await clock.advance(200);
  assert.equal(granted, 6);
});
