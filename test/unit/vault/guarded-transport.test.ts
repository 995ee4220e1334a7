import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../../src/vault/circuit-breaker.ts';
import { VaultError } from '../../../src/vault/errors.ts';
import { guardedTransport } from '../../../src/vault/guarded-transport.ts';
import { RateLimiter } from '../../../src/vault/rate-limiter.ts';
import type { VaultCall, VaultTransport } from '../../../src/vault/transport.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function guarded(fail: (call: VaultCall) => VaultError | undefined) {
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
  const transport = guardedTransport(inner, {
    limiter: new RateLimiter(clock, 1000, 1000),
    breaker: new CircuitBreaker(clock, () => 0.5),
    clock,
  });
  return { transport, sent };
}

const read = (path: string[]): VaultCall => ({ method: 'GET', path, operation: 'read', token: 't' });

test("an oversized answer from one namespace's secret does not open the breaker for everyone", async () => {
  const { transport, sent } = guarded((call) =>
    call.path[2] === 'huge' ? new VaultError('InvalidValue', 'too large', 200) : undefined,
  );
  for (let i = 0; i < 5; i += 1) {
    await assert.rejects(transport.send(read(['secret', 'data', 'huge'])), { reason: 'InvalidValue' });
  }
  assert.deepEqual(await transport.send(read(['secret', 'data', 'other'])), { status: 200, body: {} });
  assert.equal(sent.length, 6);
});

test('no answer three times opens the breaker: the next request fails at once without being sent', async () => {
  const { transport, sent } = guarded(() => new VaultError('VaultUnavailable', 'connection refused'));
  for (let i = 0; i < 3; i += 1) {
    await assert.rejects(transport.send(read(['secret', 'data', 'a'])), { reason: 'VaultUnavailable' });
  }
  await assert.rejects(transport.send(read(['secret', 'data', 'a'])), { message: 'connection refused' });
  assert.equal(sent.length, 3);
});

test('a path that cannot be sent is refused before the breaker and the limiter', async () => {
  const { transport, sent } = guarded(() => undefined);
  await assert.rejects(transport.send(read(['kv', '..', 'auth'])), { reason: 'InvalidSpec' });
  assert.deepEqual(sent, []);
});
