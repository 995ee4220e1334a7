import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkQueue } from '../../../src/controller/queue.ts';
import type { QueueObserver } from '../../../src/observability/runtime-metrics.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function queue(clock = new FakeClock()): WorkQueue {
  return new WorkQueue({ clock, random: () => 0.5, baseDelayMs: 1_000, maxDelayMs: 60_000 });
}

describe('the work queue', () => {
  test('a key added many times waits once', async () => {
    const q = queue();
    for (let i = 0; i < 5; i += 1) q.add('a');
    q.add('b');
    assert.equal(q.depth, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  test('a key is worked on by one worker at a time and re-queued when added meanwhile', async () => {
    const q = queue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    assert.equal(q.depth, 0, 'not handed out again while in progress');
    q.done(key ?? '');
    assert.equal(q.depth, 1);
    assert.equal(await q.get(), 'a');
  });

  test('a waiting worker gets a key as soon as it is added', async () => {
    const q = queue();
    const waiting = q.get();
    q.add('x');
    assert.equal(await waiting, 'x');
  });

  test('rate-limited adds back off exponentially per key until forgotten', async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    const delays = [q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')];
    assert.ok(delays[0]! < delays[1]! && delays[1]! < delays[2]!, delays.join(','));
    q.forget('a');
    assert.equal(q.failures('a'), 0);
    await clock.advance(delays[0]!);
    assert.equal(q.depth, 1, 'the earliest delayed add wins');
  });

  test('after shutdown workers get nothing more', async () => {
    const q = queue();
    const waiting = q.get();
    q.add('a');
    q.shutDown();
    assert.equal(await waiting, 'a');
    q.add('b');
    assert.equal(await q.get(), undefined);
  });

  test("the observer sees what client-go's queue metrics count: adds, retries, time waiting and time worked", async () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    const observer: QueueObserver = {
      added: () => seen.push('added'),
      retried: () => seen.push('retried'),
      started: (ms) => seen.push(`started after ${ms}`),
      finished: (ms) => seen.push(`finished after ${ms}`),
    };
    const q = new WorkQueue({ clock, random: () => 0.5, baseDelayMs: 1_000, maxDelayMs: 60_000, observer });
    q.add('a');
    q.add('a');
    await clock.advance(250);
    const key = await q.get();
    assert.equal(q.waiting, 0);
    await clock.advance(40);
    assert.deepEqual(q.inProgressMs(), [40]);
    q.add('a');
    assert.equal(q.waiting, 1, 'added while in progress: it waits');
    await clock.advance(10);
    q.done(key ?? '');
    assert.deepEqual(q.inProgressMs(), []);
    await q.get();
    q.addAfter('b', 1_000);
    q.addRateLimited('c');
    assert.deepEqual(seen, [
      'added',
      'started after 250',
      'added',
      'finished after 50',
      'started after 10',
      'retried',
      'retried',
    ]);
  });
});
