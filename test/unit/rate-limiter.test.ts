import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimiter } from '../../src/rate-limiter.ts';
import { FakeClock, flush } from '../support/fake-clock.ts';

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

describe('the adaptive rate', () => {
  test('a struggling Vault halves the rate at once, at most once a second, down to 1/64 of --vault.qps', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(clock, 64, 1);
    assert.equal(limiter.qps, 64);
    limiter.congested();
    limiter.congested(); // the same burst of failures: one halving
    assert.equal(limiter.qps, 32);
    for (let i = 0; i < 10; i += 1) {
      await clock.advance(1_000);
      limiter.congested();
    }
    assert.equal(limiter.qps, 1, 'never below a sixty-fourth, so every path is still read');
  });

  test('the halved rate is what waiting requests get, and the burst saved before is dropped', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(clock, 10, 10);
    await limiter.take();
    limiter.congested();
    let granted = 0;
    for (let i = 0; i < 4; i += 1) void limiter.take().then(() => (granted += 1));
    await clock.advance(0);
    assert.equal(granted, 1, 'nine saved tokens are not spent on a struggling Vault');
    await clock.advance(599);
    assert.equal(granted, 3, '5/s: one every 200 ms');
    await clock.advance(1);
    assert.equal(granted, 4);
  });

  test('healthy answers give back a twentieth of --vault.qps a second, never more than --vault.qps', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(clock, 100, 10);
    limiter.congested();
    assert.equal(limiter.qps, 50);
    limiter.healthy(); // within the second of the halving: no change
    assert.equal(limiter.qps, 50);
    const rates: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      await clock.advance(1_000);
      limiter.healthy();
      limiter.healthy();
      rates.push(Math.round(limiter.qps * 1000) / 1000);
    }
    assert.deepEqual(rates, [55, 60, 65, 70, 75, 80, 85, 90, 95, 100, 100, 100]);
  });
});
