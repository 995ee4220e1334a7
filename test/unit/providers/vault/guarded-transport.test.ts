import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../../../src/providers/vault/circuit-breaker.ts';
import { ProviderError } from '../../../../src/providers/errors.ts';
import { guardedTransport } from '../../../../src/providers/vault/guarded-transport.ts';
import { AdaptiveRate } from '../../../../src/rate-limit/adaptive-rate.ts';
import { RateLimiter } from '../../../../src/rate-limit/rate-limiter.ts';
import type { VaultCall, VaultTransport } from '../../../../src/providers/vault/transport.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

function guarded(fail: (call: VaultCall) => ProviderError | undefined) {
  const clock = new FakeClock();
  const sent: string[] = [];
  const inner: VaultTransport = {
    async send(call) {
      sent.push(call.path.join('/'));
      const failure = fail(call);
      if (failure) throw failure;
      return { status: 200, body: {} };
    },
  };
  const limiter = new RateLimiter(clock, 1000, 1000);
  const transport = guardedTransport(inner, {
    limiter,
    rate: new AdaptiveRate(clock, limiter.bucket),
    breaker: new CircuitBreaker(clock, () => 0.5),
    clock,
  });
  return { transport, sent, clock };
}

const read = (path: string[]): VaultCall => ({ method: 'GET', path, operation: 'read', token: 't' });

test("an oversized answer from one namespace's secret does not open the breaker for everyone", async () => {
  const { transport, sent } = guarded((call) =>
    call.path[2] === 'huge' ? new ProviderError('InvalidValue', 'too large', 200) : undefined,
  );
  for (let i = 0; i < 5; i += 1) {
    await assert.rejects(transport.send(read(['secret', 'data', 'huge'])), { reason: 'InvalidValue' });
  }
  assert.deepEqual(await transport.send(read(['secret', 'data', 'other'])), { status: 200, body: {} });
  assert.equal(sent.length, 6);
});

test('no answer three times opens the breaker: the next request fails at once without being sent', async () => {
  const { transport, sent, clock } = guarded(
    () => new ProviderError('VaultUnavailable', 'connection refused'),
  );
  for (let i = 0; i < 3; i += 1) {
    // A little time between attempts, as a real caller has; far less than the breaker backoff.
    const refused = assert.rejects(transport.send(read(['secret', 'data', 'a'])), {
      reason: 'VaultUnavailable',
    });
    await clock.advance(10);
    await refused;
  }
  await assert.rejects(transport.send(read(['secret', 'data', 'a'])), { message: 'connection refused' });
  assert.equal(sent.length, 3);
});

test('a path that cannot be sent is refused before the breaker and the limiter', async () => {
  const { transport, sent } = guarded(() => undefined);
  await assert.rejects(transport.send(read(['kv', '..', 'auth'])), { reason: 'InvalidSpec' });
  assert.deepEqual(sent, []);
});

test('answers that say Vault is overloaded (429, 502, 503, 504, over 2 s, none) halve the rate; a 500 or a 404 does not', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(clock, 64, 64);
  let answer: { status: number; ms: number } | 'none' = { status: 200, ms: 10 };
  const inner: VaultTransport = {
    async send() {
      if (answer === 'none') throw new ProviderError('VaultUnavailable', 'connection reset');
      await clock.advance(answer.ms);
      return { status: answer.status, body: {} };
    },
  };
  const transport = guardedTransport(inner, {
    limiter,
    rate: new AdaptiveRate(clock, limiter.bucket),
    breaker: new CircuitBreaker(clock, () => 0.5),
    clock,
  });
  const rates: number[] = [];
  // One answer per second: each is judged by the next.
  const send = async (next: typeof answer): Promise<void> => {
    answer = next;
    await transport.send(read(['secret', 'data', 'a'])).catch(() => undefined);
    rates.push(limiter.qps);
    await clock.advance(1_000);
  };
  for (const next of [
    { status: 429, ms: 10 },
    { status: 503, ms: 10 },
    { status: 502, ms: 10 },
    { status: 504, ms: 10 },
    { status: 200, ms: 2_100 },
    'none',
    { status: 500, ms: 10 },
    { status: 404, ms: 1_900 },
    { status: 200, ms: 10 },
  ] as const) {
    await send(next);
  }
  assert.deepEqual(rates, [64, 32, 16, 8, 4, 2, 1, 4.2, 7.4]);
});

test('a request the operator called off (lost leadership) says nothing of Vault: no breaker, no slow-down', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(clock, 64, 64);
  const breaker = new CircuitBreaker(clock, () => 0.5);
  const term = new AbortController();
  const inner: VaultTransport = {
    async send() {
      term.abort();
      throw new ProviderError('VaultUnavailable', 'the request was cancelled');
    },
  };
  const transport = guardedTransport(inner, {
    limiter,
    rate: new AdaptiveRate(clock, limiter.bucket),
    breaker,
    clock,
  });
  for (let i = 0; i < 5; i += 1) {
    await assert.rejects(transport.send({ ...read(['secret', 'data', 'a']), signal: term.signal }), {
      message: 'the request was cancelled',
    });
    await clock.advance(1_000);
  }
  assert.equal(limiter.qps, 64);
  breaker.admit(); // still closed: throws if five cancellations had opened it
});

test('a probe called off before Vault answers lets the next request probe: the breaker does not stay open for good', async () => {
  let down = true;
  const calledOff = new AbortController();
  const { transport, sent, clock } = guarded((call) => {
    if (call.signal === calledOff.signal) {
      calledOff.abort();
      return new ProviderError('VaultUnavailable', 'the request was cancelled');
    }
    return down ? new ProviderError('VaultUnavailable', 'connection refused') : undefined;
  });
  for (let i = 0; i < 3; i += 1) {
    await assert.rejects(transport.send(read(['secret', 'data', 'a'])), { reason: 'VaultUnavailable' });
  }
  // Past the longest first backoff (1 s, jittered): the next request is the probe, and is called off.
  await clock.advance(2_000);
  await assert.rejects(transport.send({ ...read(['secret', 'data', 'probe']), signal: calledOff.signal }), {
    message: 'the request was cancelled',
  });
  down = false;
  assert.deepEqual(await transport.send(read(['secret', 'data', 'a'])), { status: 200, body: {} });
  assert.deepEqual(sent, [
    'secret/data/a',
    'secret/data/a',
    'secret/data/a',
    'secret/data/probe',
    'secret/data/a',
  ]);
});

test("an engine's 500 (its database is down) does not open the breaker for every read; a sealed Vault's 503 does", async () => {
  const clock = new FakeClock();
  const sent: string[] = [];
  let status = 500;
  const inner: VaultTransport = {
    async send(call) {
      sent.push(call.operation);
      return { status: call.operation === 'read' ? 200 : status, body: {} };
    },
  };
  const limiter = new RateLimiter(clock, 1000, 1000);
  const transport = guardedTransport(inner, {
    limiter,
    rate: new AdaptiveRate(clock, limiter.bucket),
    breaker: new CircuitBreaker(clock, () => 0.5),
    clock,
  });
  const issue: VaultCall = {
    method: 'GET',
    path: ['database', 'creds', 'app'],
    operation: 'issue',
    token: 't',
  };
  for (let i = 0; i < 5; i += 1) assert.equal((await transport.send(issue)).status, 500);
  assert.equal((await transport.send(read(['secret', 'data', 'a']))).status, 200, 'the breaker stays closed');
  status = 503;
  for (let i = 0; i < 3; i += 1) {
    await transport.send(issue);
    await clock.advance(10);
  }
  await assert.rejects(transport.send(read(['secret', 'data', 'a'])), { reason: 'VaultUnavailable' });
  assert.equal(sent.filter((o) => o === 'read').length, 1, 'the read after three 503s was not sent');
});

test('a probe that gets no answer is followed by another after a longer wait, and the first answer closes the breaker', async () => {
  let down = true;
  const { transport, sent, clock } = guarded(() =>
    down ? new ProviderError('VaultUnavailable', 'connection refused') : undefined,
  );
  for (let i = 0; i < 3; i += 1) {
    await assert.rejects(transport.send(read(['secret', 'data', 'a'])), { reason: 'VaultUnavailable' });
  }
  // With the jitter at its middle, the waits are 0.75 s, then 1.5 s after the failed probe.
  await clock.advance(750);
  await assert.rejects(transport.send(read(['secret', 'data', 'probe1'])), { reason: 'VaultUnavailable' });
  await clock.advance(1_400);
  await assert.rejects(transport.send(read(['secret', 'data', 'early'])), { message: 'connection refused' });
  await clock.advance(100);
  down = false;
  assert.deepEqual(await transport.send(read(['secret', 'data', 'probe2'])), { status: 200, body: {} });
  assert.deepEqual(await transport.send(read(['secret', 'data', 'b'])), { status: 200, body: {} });
  assert.deepEqual(sent.slice(3), ['secret/data/probe1', 'secret/data/probe2', 'secret/data/b']);
});
