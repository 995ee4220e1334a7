// Rollout restarts on the real stack: kube-controller-manager runs the Deployment and StatefulSet
// controllers, so a restart shows as a new ReplicaSet or a new ControllerRevision.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metricSum } from '../support/metrics.ts';
import {
  applyDefinition,
  putKv2,
  type RunningOperator,
  readDefinition,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, kubectl, waitFor } from '../support/stack.ts';
import { replicaSetTimes, revisions, waitRevisions, workload } from '../support/workloads.ts';

/** Waits until each workload's pod template says it restarted for the Secret db's current data id. */
async function waitRestartedFor(ns: string, targets: readonly (readonly [string, string])[]): Promise<void> {
  const dataId = async (): Promise<string> =>
    kubectl([
      'get',
      'secret',
      'db',
      '-n',
      ns,
      '-o',
      'jsonpath={.metadata.annotations.secrets-manager\\.tuenti\\.io/data-id}',
    ]);
  for (const [kind, name] of targets) {
    await waitFor(`${kind} ${name} restarted for the current data of Secret db`, async () => {
      const annotation = await kubectl([
        'get',
        kind,
        name,
        '-n',
        ns,
        '-o',
        'jsonpath={.spec.template.metadata.annotations.secrets-manager\\.tuenti\\.io/restarted-for}',
      ]);
      const id = await dataId();
      return id !== '' && annotation === JSON.stringify({ db: id }) ? true : undefined;
    });
  }
}

/** Waits until the operator's rollout restart counter reaches `count`. */
async function waitRestartCount(operator: RunningOperator, count: number): Promise<void> {
  await waitFor(`${count} rollout restarts counted`, async () =>
    metricSum(await operator.metrics(), 'secrets_manager_rollout_restarts_total') === count
      ? true
      : undefined,
  );
}

describe('rollout restarts', () => {
  test('a rotation restarts the annotated Deployment and the listed StatefulSet exactly once; an operator restart restarts nothing', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/db`, { password: 'one' });
    for (const manifest of [
      workload('Deployment', 'auto', 'db', true),
      workload('Deployment', 'unannotated', 'db', false),
      workload('StatefulSet', 'listed', 'db', false),
    ])
      await kubectl(['apply', '-n', ns, '-f', '-'], manifest);
    await waitRevisions(ns, 'Deployment', 'auto', 1);
    await waitRevisions(ns, 'Deployment', 'unannotated', 1);
    await waitRevisions(ns, 'StatefulSet', 'listed', 1);

    const args = [`--watch-namespaces=${ns}`, '--rollout-restart', '--rollout-restart-interval=1s'];
    const first = await startOperator(t, { args });
    await waitReady(first);
    await applyDefinition(ns, 'db', {
      name: 'db',
      refreshInterval: '1s',
      keysMap: { password: { path: `secret/${ns}/db`, key: 'password' } },
      rolloutRestartTargets: [{ kind: 'StatefulSet', name: 'listed' }],
    });
    const ready = await waitForReady(ns, 'db', 'True');
    assert.ok(ready);
    const rollout = (await readDefinition(ns, 'db')).status?.conditions?.find(
      (c) => c.type === 'RolloutRestart',
    );
    assert.equal(rollout?.status, 'True');
    assert.equal(rollout?.reason, 'TargetsFound');

    // Each rotation: the Secret gets a new data id, and every reader is restarted for it once.
    await putKv2(`secret/${ns}/db`, { password: 'two' });
    await waitForSecretValue(ns, 'db', 'password', 'two', 10_000);
    await waitRestartedFor(ns, [
      ['deployment', 'auto'],
      ['statefulset', 'listed'],
    ]);
    // Two revisions each and two restarts in all: creating the Secret restarted nothing. The
    // workload controllers make the revisions after the patch, and the counter moves when the
    // patch is answered, so both are waited for; the revision counts are read again after.
    await waitRevisions(ns, 'Deployment', 'auto', 2);
    await waitRevisions(ns, 'StatefulSet', 'listed', 2);
    await waitRestartCount(first, 2);
    assert.equal(await revisions(ns, 'Deployment', 'auto'), 2);
    assert.equal(await revisions(ns, 'StatefulSet', 'listed'), 2);
    const events = await kubectl(['get', 'events', '-n', ns, '-o', 'json']);
    assert.match(events, /restarted by secrets-manager: the data of Secret db changed/);
    assert.doesNotMatch(events, /"two"|\btwo\b/, 'no value in an Event');

    // The operator restarts with everything in sync: it verifies the definition and restarts
    // nothing; the next rotation then restarts each reader once, so this instance counts 2.
    await first.stop();
    const second = await startOperator(t, { args });
    await waitReady(second);
    await waitFor('the restarted operator to verify the definition', async () =>
      metricSum(await second.metrics(), 'secrets_manager_controller_last_sync_status') === 1
        ? true
        : undefined,
    );
    await putKv2(`secret/${ns}/db`, { password: 'three' });
    await waitForSecretValue(ns, 'db', 'password', 'three', 10_000);
    await waitRestartedFor(ns, [
      ['deployment', 'auto'],
      ['statefulset', 'listed'],
    ]);
    await waitRevisions(ns, 'Deployment', 'auto', 3);
    await waitRevisions(ns, 'StatefulSet', 'listed', 3);
    await waitRestartCount(second, 2);
    assert.equal(await revisions(ns, 'Deployment', 'auto'), 3);
    assert.equal(await revisions(ns, 'StatefulSet', 'listed'), 3);
    assert.equal(
      await revisions(ns, 'Deployment', 'unannotated'),
      1,
      'not annotated, not listed: never restarted',
    );
  });

  test('a listed DaemonSet, and an init container reading a projected volume, are restarted; rotations within --rollout-restart-interval make one restart after it', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/db`, { password: 'one' });
    await kubectl(['apply', '-n', ns, '-f', '-'], workload('DaemonSet', 'agent', 'db', false));
    await kubectl(
      ['apply', '-n', ns, '-f', '-'],
      workload('Deployment', 'init', 'db', true, 'projected-init'),
    );
    await waitRevisions(ns, 'Deployment', 'init', 1);
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`, '--rollout-restart', '--rollout-restart-interval=10s'],
    });
    await waitReady(operator);
    await applyDefinition(ns, 'db', {
      name: 'db',
      refreshInterval: '1s',
      keysMap: { password: { path: `secret/${ns}/db`, key: 'password' } },
      rolloutRestartTargets: [{ kind: 'DaemonSet', name: 'agent' }],
    });
    await waitForReady(ns, 'db', 'True');
    const targets = [
      ['daemonset', 'agent'],
      ['deployment', 'init'],
    ] as const;

    await putKv2(`secret/${ns}/db`, { password: 'two' });
    await waitForSecretValue(ns, 'db', 'password', 'two', 10_000);
    await waitRestartedFor(ns, targets);
    // Two more rotations at once: within the interval, so they wait for its end and make one
    // restart, for the last of them. Had each its own, the restart for "four" would be the
    // fourth revision.
    for (const password of ['three', 'four']) {
      await putKv2(`secret/${ns}/db`, { password });
      await waitForSecretValue(ns, 'db', 'password', password, 10_000);
    }
    await waitRestartedFor(ns, targets);
    await waitRevisions(ns, 'Deployment', 'init', 3);
    const [, first, second] = await replicaSetTimes(ns, 'init');
    assert.ok(
      first !== undefined && second !== undefined && second - first >= 8_000,
      `restarts ${(second ?? 0) - (first ?? 0)}ms apart with a 10s interval (creation times have 1s resolution)`,
    );
    assert.equal(await revisions(ns, 'Deployment', 'init'), 3);
    await waitRestartCount(operator, 4);
    const metrics = await operator.metrics();
    assert.equal(metricSum(metrics, 'secrets_manager_rollout_restarts_total{kind="DaemonSet"}'), 2);
    assert.equal(metricSum(metrics, 'secrets_manager_rollout_restarts_total{kind="Deployment"}'), 2);
  });

  test('a missing target and a disabled operator are conditions, not crashes', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/db`, { password: 'one' });
    const spec = {
      name: 'db',
      keysMap: { password: { path: `secret/${ns}/db`, key: 'password' } },
      rolloutRestartTargets: [{ kind: 'Deployment' as const, name: 'nowhere' }],
    };
    const enabled = await startOperator(t, { args: [`--watch-namespaces=${ns}`, '--rollout-restart'] });
    await waitReady(enabled);
    await applyDefinition(ns, 'db', spec);
    await waitForReady(ns, 'db', 'True');
    const missing = await waitFor('the RolloutRestart condition', async () =>
      (await readDefinition(ns, 'db')).status?.conditions?.find((c) => c.type === 'RolloutRestart'),
    );
    assert.equal(missing.status, 'False');
    assert.equal(missing.reason, 'TargetNotFound');
    assert.match(missing.message, new RegExp(`Deployment nowhere not found in namespace ${ns}`));
    await enabled.stop();

    const disabled = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(disabled);
    await putKv2(`secret/${ns}/db`, { password: 'two' });
    await waitForSecretValue(ns, 'db', 'password', 'two', 10_000);
    const off = await waitFor('the disabled condition', async () => {
      const found = (await readDefinition(ns, 'db')).status?.conditions?.find(
        (c) => c.type === 'RolloutRestart',
      );
      return found?.reason === 'RolloutRestartDisabled' ? found : undefined;
    });
    assert.equal(off.status, 'False');
    assert.match(off.message, /without --rollout-restart/);
  });
});
