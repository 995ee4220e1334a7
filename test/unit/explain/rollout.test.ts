import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explain } from '../../../src/explain/explanation.ts';
import type { Workload } from '../../../src/kube/workload.ts';
import { definition, inputs, live, password } from './fixtures.ts';

const dataId = 'secrets-manager.tuenti.io/data-id';

function workload(name: string, restartedFor: Record<string, string>): Workload {
  return {
    ...{ kind: 'Deployment', namespace: 'team-a', name, uid: name, resourceVersion: '1' },
    ...{ autoReload: true, secrets: ['app-secret'], restartedFor },
  };
}

/** The restarts explain predicts, with the live Secret `secret` and these workloads. */
async function restartsWith(secret: ReturnType<typeof live> | undefined, workloads: Workload[]) {
  const e = await explain(
    await inputs({
      definition: definition(),
      rollout: { enabled: true, workloads },
      live: secret,
    }),
  );
  return e.rollout.restarts;
}

describe('explain predicts the rollout restarts the operator makes', () => {
  test('unchanged data still restarts a workload restarted for another data id than the Secret carries (a missed change is caught up)', async () => {
    const secret = live(
      { password },
      { annotations: { 'secrets-manager.tuenti.io/owner': 'app', [dataId]: 'd2' } },
    );
    assert.deepEqual(
      await restartsWith(secret, [
        workload('behind', { 'app-secret': 'd1' }),
        workload('current', { 'app-secret': 'd2' }),
      ]),
      ['Deployment behind'],
    );
  });

  test('a Secret without a data id restarts nothing, not even a workload that recorded one', async () => {
    assert.deepEqual(await restartsWith(live({ password }), [workload('web', { 'app-secret': 'd1' })]), []);
  });

  test('a new Secret restarts only the workloads restarted for an earlier Secret of that name', async () => {
    assert.deepEqual(
      await restartsWith(undefined, [workload('before', { 'app-secret': 'd1' }), workload('fresh', {})]),
      ['Deployment before'],
    );
  });

  test('changed data restarts every auto-reload workload that reads the Secret, whatever it recorded', async () => {
    const secret = live(
      { password: 'old' },
      { annotations: { 'secrets-manager.tuenti.io/owner': 'app', [dataId]: 'd2' } },
    );
    assert.deepEqual(await restartsWith(secret, [workload('a', { 'app-secret': 'd2' }), workload('b', {})]), [
      'Deployment a',
      'Deployment b',
    ]);
  });
});
