// flush, which tests use to say "nothing more happened": it must wait for everything that can run.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flush, nextTurn } from '../../support/fake-clock.ts';

test('flush returns only once a chain of any length has settled, turns of the event loop included', async () => {
  let hops = 0;
  void (async () => {
    for (let i = 0; i < 500; i += 1) {
      await nextTurn();
      await Promise.resolve();
      hops += 1;
    }
  })();
  await flush();
  assert.equal(hops, 500);
});

test('two flushes at once both return once all is quiet', async () => {
  let done = false;
  void (async () => {
    for (let i = 0; i < 50; i += 1) await nextTurn();
    done = true;
  })();
  await Promise.all([flush(), flush()]);
  assert.equal(done, true);
});

test('work that never settles is an error, not a wait', async () => {
  let running = true;
  const spin = (): void => void (running && setImmediate(spin));
  spin();
  try {
    await assert.rejects(flush(), /something keeps running on every turn of the event loop/);
  } finally {
    running = false;
  }
});
