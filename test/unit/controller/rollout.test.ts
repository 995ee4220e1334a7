import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { restartedForAnnotation } from '../../../src/api/types.ts';
import { newDataId, restartNeeded } from '../../../src/controller/rollout.ts';
import { restartedForOf, secretsOfPodSpec, type Workload } from '../../../src/kube/workload.ts';

describe('which Secrets a pod template reads', () => {
  test('env valueFrom, envFrom, secret volumes and projected volumes, in containers and init containers', () => {
    const podSpec = {
      initContainers: [{ envFrom: [{ secretRef: { name: 'init-env' } }] }],
      containers: [
        {
          env: [
            { name: 'A', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
            { name: 'B', value: 'plain' },
            { name: 'C', valueFrom: { configMapKeyRef: { name: 'not-a-secret', key: 'x' } } },
          ],
          envFrom: [{ secretRef: { name: 'api' } }, { configMapRef: { name: 'cm' } }],
        },
      ],
      volumes: [
        { name: 'tls', secret: { secretName: 'tls' } },
        {
          name: 'all',
          projected: { sources: [{ secret: { name: 'bundle' } }, { configMap: { name: 'cm2' } }] },
        },
        { name: 'empty', emptyDir: {} },
      ],
    };
    assert.deepEqual(secretsOfPodSpec(podSpec), ['api', 'bundle', 'db', 'init-env', 'tls']);
    assert.deepEqual(secretsOfPodSpec(undefined), []);
    assert.deepEqual(secretsOfPodSpec({ containers: 'nonsense' }), []);
  });
});

describe('what a pod template was restarted for', () => {
  test('read from its annotation; anything unreadable is nothing', () => {
    assert.deepEqual(restartedForOf({ [restartedForAnnotation]: '{"db":"abc","x":1}' }), { db: 'abc' });
    assert.deepEqual(restartedForOf({ [restartedForAnnotation]: 'not json' }), {});
    assert.deepEqual(restartedForOf({ [restartedForAnnotation]: '["db"]' }), {});
    assert.deepEqual(restartedForOf({}), {});
  });
});

describe("the id of a Secret's data", () => {
  test('random and opaque: it says nothing about the data', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newDataId()));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{16}$/);
  });
});

describe('whether a workload restarts', () => {
  const workload = (restartedFor: Record<string, string>): Workload => ({
    kind: 'Deployment',
    namespace: 'team-a',
    name: 'web',
    uid: 'w-1',
    resourceVersion: '1',
    autoReload: true,
    secrets: ['db'],
    restartedFor,
  });

  test('restarted for this Secret before: only when the digest differs (an operator restart with everything in sync restarts nothing)', () => {
    assert.equal(restartNeeded(workload({ db: 'd1' }), 'db', 'd1', false), false);
    assert.equal(restartNeeded(workload({ db: 'd1' }), 'db', 'd1', true), false, 'a metadata-only write');
    assert.equal(
      restartNeeded(workload({ db: 'd1' }), 'db', 'd2', false),
      true,
      'a change missed while the operator was down',
    );
  });

  test('never restarted for it: only when this sync changed the data', () => {
    assert.equal(restartNeeded(workload({}), 'db', 'd1', false), false);
    assert.equal(restartNeeded(workload({ other: 'x' }), 'db', 'd1', true), true);
  });
});
