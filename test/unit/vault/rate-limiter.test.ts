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

test('waiting first reads go before waiting refreshes, each class in arrival order', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(clock, 10, 1);
  const order: string[] = [];
  const take = (name: string, priority: 'first' | 'refresh') =>
    void limiter.take(priority).then(() => order.push(name));
  take('refresh-1', 'refresh');
  take('refresh-2', 'refresh');
  take('refresh-3', 'refresh');
  await flush();
  assert.deepEqual(order, ['refresh-1'], 'the burst goes to whoever asked first');
  take('first-1', 'first');
  take('first-2', 'first');
  await clock.advance(50);
  take('first-3', 'first');
  for (let i = 0; i < 5; i += 1) await clock.advance(100);
  assert.deepEqual(order, ['refresh-1', 'first-1', 'first-2', 'first-3', 'refresh-2', 'refresh-3']);
});
