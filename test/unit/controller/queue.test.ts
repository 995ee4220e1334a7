import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkQueue } from '../../../src/controller/queue.ts';
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
});
