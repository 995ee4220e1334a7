// A small run of `npm run bench` on the shared stack: a smoke test of the benchmark itself. It
// asserts that the run completes and that its counts agree with each other, not performance.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBench } from '../../bench/benchmark.ts';
import { testStack } from '../support/stack.ts';

test('the benchmark runs end to end and its counts are consistent', async (t) => {
  const { state } = await testStack();
  const n = 200;
  const paths = 100;
  const rotate = 20;
  const result = await runBench(state, {
    n,
    paths,
    namespaces: 2,
    intervalSeconds: 5,
    rotate,
    paced: 3,
    pacedGapMs: 100,
    steadyIntervals: 2,
    concurrency: 4,
    entry: join(import.meta.dirname, '..', '..', 'src', 'main.ts'),
    log: (line) => t.diagnostic(line),
  });
  assert.ok(result.floorSeconds > 0 && result.syncSeconds > 0);
  // The writes a definition needs, made directly, take longer than the plain Secrets alone.
  assert.ok(result.definitionFloorSeconds > result.floorSeconds, JSON.stringify(result));
  assert.equal(result.syncVault.distinctPaths, paths, 'every path was read to reach sync');
  assert.ok(result.syncVault.reads >= paths);
  assert.ok(result.syncVault.logins >= 1);
  assert.ok(result.syncVault.mountLookups >= 1);
  // A first sync costs the apiserver a create of each Secret and a status patch of each
  // definition: no Event for a first creation, and no read of any one Secret.
  assert.deepEqual(
    { ...result.syncApiserver.writesBy, reads: result.syncApiserver.reads },
    { secrets: n, secretdefinitions: n, events: 0, reads: 0 },
  );
  assert.equal(result.syncKubeWrites, 2 * n);
  assert.ok(result.readySeconds >= result.syncSeconds);
  assert.equal(result.rotation.changed, (n / paths) * rotate, 'every Secret of a rotated path followed');
  assert.ok(result.rotation.p50 <= result.rotation.p99 && result.rotation.p99 <= result.rotation.max);
  // The paced paths come after the rotated ones: other paths, each followed by its two Secrets.
  assert.equal(result.pacedRotation?.paths, 3);
  assert.equal(result.pacedRotation.changed, (n / paths) * 3, 'every Secret of a paced path followed');
  assert.ok(result.restart.reads >= paths && result.restart.verifiedSeconds > 0);
  assert.ok(result.steady.seconds >= 2 * 5);
  // A killed leader's successor verifies every path; the Secrets were in sync, so it writes nothing.
  assert.equal(result.failover.standbyReady, 'standby: caches synced, waiting to lead');
  assert.ok(result.failover.verifiedSeconds > 0);
  assert.equal(result.failover.kubeWrites, 0);
  assert.ok(result.peakRssMiB > 0 && result.cpuSeconds >= result.syncCpuSeconds);
  // The apiserver did work for both the floor and the sync, and etcd stored it.
  for (const cpu of [result.floorStackCpu, result.syncStackCpu]) {
    assert.ok(cpu.apiserver > 0 && cpu.etcd > 0, JSON.stringify(cpu));
  }
  assert.ok(result.syncStackCpu.openbao > 0, 'OpenBao served the reads of the sync');
  t.diagnostic(JSON.stringify(result));
});
