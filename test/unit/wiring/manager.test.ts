import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Manager, type Runnable } from '../../../src/wiring/manager.ts';

/** A runnable that records its start and stop in `log`; `gate` makes its start wait until released. */
function recorder(
  log: string[],
  name: string,
  options: { gate?: Promise<void>; fail?: 'start' | 'stop' } = {},
): Runnable {
  return {
    name,
    async start(signal) {
      log.push(`start ${name}`);
      if (options.gate) {
        await Promise.race([
          options.gate,
          new Promise<void>((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
        ]);
      }
      if (options.fail === 'start') throw new Error(`${name} cannot start`);
    },
    stop() {
      log.push(`stop ${name}`);
      if (options.fail === 'stop') throw new Error(`${name} cannot stop`);
    },
  };
}

describe('the manager', () => {
  test('starts runnables in order, each after the previous one has started, and stops them in reverse', async () => {
    const log: string[] = [];
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const manager = new Manager(
      [recorder(log, 'server'), recorder(log, 'leader election', { gate }), recorder(log, 'workers')],
      () => assert.fail('no stop fails'),
    );
    const started = manager.start();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ['start server', 'start leader election'], 'workers wait for leadership');
    open();
    assert.equal(await started, 'started');
    await manager.stop();
    assert.deepEqual(log, [
      'start server',
      'start leader election',
      'start workers',
      'stop workers',
      'stop leader election',
      'stop server',
    ]);
  });

  test('stopping while a start waits aborts it, stops it and what came before it, and starts nothing more', async () => {
    const log: string[] = [];
    const never = new Promise<void>(() => undefined);
    const manager = new Manager(
      [recorder(log, 'server'), recorder(log, 'leader election', { gate: never }), recorder(log, 'workers')],
      () => assert.fail('no stop fails'),
    );
    const started = manager.start();
    await new Promise((resolve) => setImmediate(resolve));
    await manager.stop();
    assert.equal(await started, 'stopped');
    assert.deepEqual(log, ['start server', 'start leader election', 'stop leader election', 'stop server']);
  });

  test('a start that fails rejects; the stop that follows stops what began, the failed one included', async () => {
    const log: string[] = [];
    const manager = new Manager(
      [recorder(log, 'server'), recorder(log, 'informers', { fail: 'start' }), recorder(log, 'workers')],
      () => assert.fail('no stop fails'),
    );
    await assert.rejects(manager.start(), /informers cannot start/);
    await manager.stop();
    assert.deepEqual(log, ['start server', 'start informers', 'stop informers', 'stop server']);
  });

  test('a stop that fails is reported and the others still stop; stop is done once however often it is asked', async () => {
    const log: string[] = [];
    const failures: string[] = [];
    const manager = new Manager(
      [recorder(log, 'server'), recorder(log, 'vault', { fail: 'stop' }), recorder(log, 'workers')],
      (name, error) => failures.push(`${name}: ${(error as Error).message}`),
    );
    await manager.start();
    await Promise.all([manager.stop(), manager.stop()]);
    await manager.stop();
    assert.deepEqual(
      log.filter((l) => l.startsWith('stop')),
      ['stop workers', 'stop vault', 'stop server'],
    );
    assert.deepEqual(failures, ['vault: vault cannot stop']);
  });

  test('a manager stopped before it starts starts nothing', async () => {
    const log: string[] = [];
    const manager = new Manager([recorder(log, 'server')], () => undefined);
    await manager.stop();
    assert.equal(await manager.start(), 'stopped');
    assert.deepEqual(log, []);
  });
});
