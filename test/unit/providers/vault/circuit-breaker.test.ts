import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, maxOpenMs } from '../../../../src/providers/vault/circuit-breaker.ts';
import { ProviderError } from '../../../../src/providers/errors.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

const noAnswer = new ProviderError('VaultUnavailable', 'connection refused');

/** The widest jitter: every wait is the full backoff step. */
function breaker(closed: () => void = () => undefined) {
  const clock = new FakeClock();
  return { clock, breaker: new CircuitBreaker(clock, () => 1, { closed }) };
}

/** Milliseconds until the breaker lets a probe through, found by stepping the clock. */
async function openFor(clock: FakeClock, subject: CircuitBreaker): Promise<number> {
  const from = clock.monotonic();
  for (;;) {
    try {
      if (subject.admit()) return clock.monotonic() - from;
      return 0;
    } catch {
      await clock.advance(50);
    }
  }
}

describe('the circuit breaker', () => {
  test('a hundred requests cut at once by one outage open it for the first step only, not the longest', async () => {
    const { clock, breaker: subject } = breaker();
    for (let i = 0; i < 100; i += 1) subject.failed(noAnswer);
    assert.equal(subject.open, true);
    assert.equal(await openFor(clock, subject), 1_000);
    subject.failed(noAnswer, true);
    assert.equal(await openFor(clock, subject), 2_000, 'one failed probe is one step, whatever came before');
  });

  test('each failed probe doubles the wait, up to a few seconds', async () => {
    const { clock, breaker: subject } = breaker();
    for (let i = 0; i < 3; i += 1) subject.failed(noAnswer);
    const waits: number[] = [];
    for (let probe = 0; probe < 5; probe += 1) {
      waits.push(await openFor(clock, subject));
      subject.failed(noAnswer, true);
    }
    assert.deepEqual(waits, [1_000, 2_000, 4_000, maxOpenMs, maxOpenMs]);
    assert.equal(maxOpenMs, 5_000);
  });

  test('a request sent before it opened that fails late does not hold it open longer', async () => {
    const { clock, breaker: subject } = breaker();
    for (let i = 0; i < 3; i += 1) subject.failed(noAnswer);
    await clock.advance(900);
    subject.failed(noAnswer); // in flight since before the outage was noticed
    assert.equal(await openFor(clock, subject), 100);
  });

  test('only one probe at a time is let through; the others fail at once with the last error', async () => {
    const { clock, breaker: subject } = breaker();
    for (let i = 0; i < 3; i += 1) subject.failed(noAnswer);
    await clock.advance(1_000);
    assert.equal(subject.admit(), true);
    assert.throws(() => subject.admit(), { message: 'connection refused' });
  });

  test('closing after it was open is told once; a success while closed tells nothing', async () => {
    let closings = 0;
    const { clock, breaker: subject } = breaker(() => (closings += 1));
    subject.succeeded();
    subject.failed(noAnswer);
    subject.succeeded();
    assert.equal(closings, 0, 'never open: nothing to tell');
    for (let i = 0; i < 3; i += 1) subject.failed(noAnswer);
    await clock.advance(1_000);
    assert.equal(subject.admit(), true);
    subject.succeeded();
    subject.succeeded();
    assert.equal(closings, 1);
    assert.equal(subject.open, false);
    assert.equal(subject.admit(), false, 'closed: every request goes through, none is a probe');
  });
});
