import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { waitFor } from '../../support/wait.ts';
import { freePorts, isAlive, startDaemon, stopDaemon, waitUntilReady } from '../../harness/processes.ts';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'harness-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('daemons', () => {
  test('stopping a daemon ends its whole process group, children included', async (t) => {
    const dir = await scratch(t);
    const pidFile = join(dir, 'child.pid');
    const daemon = startDaemon({
      name: 'parent',
      command: 'sh',
      args: ['-c', `sleep 300 & echo $! > ${pidFile}; wait`],
      logFile: join(dir, 'parent.log'),
    });
    const childPid = await waitFor('the child pid', async () => {
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      return pid > 0 ? pid : undefined;
    });
    assert.ok(isAlive(daemon.pid) && isAlive(childPid));

    await stopDaemon(daemon.pid, 2_000);

    assert.equal(isAlive(daemon.pid), false);
    assert.equal(isAlive(childPid), false);
  });

  test('a daemon that exits while starting fails at once with its last log lines', async (t) => {
    const dir = await scratch(t);
    const daemon = startDaemon({
      name: 'broken',
      command: 'sh',
      args: ['-c', 'echo "bad flag --nope"; exit 3'],
      logFile: join(dir, 'broken.log'),
    });
    const started = Date.now();
    await assert.rejects(
      waitUntilReady(daemon, async () => false, 30_000),
      /broken exited during start; last log lines:\nbad flag --nope/,
    );
    assert.ok(Date.now() - started < 10_000, 'did not wait for the deadline');
  });

  test('a daemon that never becomes ready fails at the deadline naming the last check', async (t) => {
    const dir = await scratch(t);
    const daemon = startDaemon({
      name: 'slow',
      command: 'sleep',
      args: ['30'],
      logFile: join(dir, 'slow.log'),
    });
    t.after(() => stopDaemon(daemon.pid, 1_000));
    await assert.rejects(
      waitUntilReady(
        daemon,
        async () => {
          throw new Error('connection refused');
        },
        300,
      ),
      /slow was not ready within 0.3s \(last check: connection refused\)/,
    );
  });
});

describe('ports', () => {
  test('free ports are distinct and bindable', async () => {
    const ports = await freePorts(8);
    assert.equal(new Set(ports).size, 8);
    for (const port of ports) assert.ok(port > 1024 && port < 65536);
  });
});
