import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdaptiveRate } from '../../../src/rate-limit/adaptive-rate.ts';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.ts';
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

describe('the adaptive rate', () => {
  /** A limiter and the adaptive rate that slows it down, as a backend has them. */
  function adaptive(clock: FakeClock, qps: number, burst: number) {
    const limiter = new RateLimiter(clock, qps, burst);
    return { limiter, rate: new AdaptiveRate(clock, limiter.bucket) };
  }

  /** One second of answers, `congested` of them bad, then the next second begins. */
  async function second(clock: FakeClock, rate: AdaptiveRate, answers: number, congested: number) {
    for (let i = 0; i < answers; i += 1) {
      if (i < congested) rate.congested();
      else rate.healthy();
    }
    await clock.advance(1_000);
  }

  test('a second in which a tenth of the answers say Vault is overloaded halves the rate, down to 1/64 of --vault.qps', async () => {
    const clock = new FakeClock();
    const { limiter, rate } = adaptive(clock, 64, 1);
    await second(clock, rate, 10, 1);
    rate.healthy(); // the first answer of the next second judges the last one
    assert.equal(limiter.qps, 32);
    const rates: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      await second(clock, rate, 4, 4);
      rates.push(limiter.qps);
    }
    assert.deepEqual(
      rates,
      [32, 16, 8, 4, 2, 1, 1, 1],
      'never below a sixty-fourth, so every path is still read',
    );
  });

  test('a second judged only when the next answer comes is dropped if that was long after', async () => {
    const clock = new FakeClock();
    const { limiter, rate } = adaptive(clock, 64, 1);
    rate.congested();
    await clock.advance(600_000); // ten quiet minutes
    rate.healthy();
    assert.equal(limiter.qps, 64);
  });

  test('a few failing answers among many do not slow everyone down', async () => {
    const clock = new FakeClock();
    const { limiter, rate } = adaptive(clock, 64, 1);
    await second(clock, rate, 100, 9);
    await second(clock, rate, 100, 9);
    assert.equal(limiter.qps, 64);
  });

  test('the halved rate is what waiting requests get, and the burst saved before is dropped', async () => {
    const clock = new FakeClock();
    const { limiter, rate } = adaptive(clock, 10, 10);
    await limiter.take();
    rate.congested();
    await clock.advance(1_000);
    rate.congested(); // judges the second before: halved to 5/s
    let granted = 0;
    for (let i = 0; i < 4; i += 1) void limiter.take().then(() => (granted += 1));
    await clock.advance(0);
    assert.equal(granted, 1, 'the saved tokens are not spent on a struggling Vault');
    await clock.advance(599);
    assert.equal(granted, 3, '5/s: one every 200 ms');
    await clock.advance(1);
    assert.equal(granted, 4);
  });

  test('each second of healthy answers gives back a twentieth of --vault.qps, never more than --vault.qps', async () => {
    const clock = new FakeClock();
    const { limiter, rate } = adaptive(clock, 100, 10);
    await second(clock, rate, 2, 2);
    const rates: number[] = [];
    for (let i = 0; i < 13; i += 1) {
      await second(clock, rate, 2, 0);
      rates.push(Math.round(limiter.qps * 1000) / 1000);
    }
    assert.deepEqual(rates, [50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100, 100, 100]);
  });
});
