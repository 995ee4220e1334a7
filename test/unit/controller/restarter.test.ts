import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Restarter, rolloutCondition, type RestarterDeps } from '../../../src/controller/restarter.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { workloadKey, type Workload } from '../../../src/kube/workload.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const definition = { namespace: 'team-a', name: 'db', uid: 'def-1' };
/** The Secret db-secret holding the data of id `id`. */
const secret = (id: string) => ({ name: 'db-secret', dataId: id });
const digest = (id: string) => id;

function deployment(name: string, extra: Partial<Workload> = {}): Workload {
  return {
    kind: 'Deployment',
    namespace: 'team-a',
    name,
    uid: `uid-${name}`,
    resourceVersion: '1',
    autoReload: false,
    secrets: ['db-secret'],
    restartedFor: {},
    ...extra,
  };
}

/** A Restarter over a cluster of `workloads`; every patch, Event and count is recorded. */
function harness(
  workloads: Workload[],
  options: { failPatches?: number; failStatus?: number; slowPatch?: () => Promise<void> } = {},
) {
  const clock = new FakeClock();
  const cluster = new Map(workloads.map((w) => [workloadKey(w.kind, w.namespace, w.name), w]));
  const patches: string[] = [];
  const events: string[] = [];
  const restarted: string[] = [];
  let failures = options.failPatches ?? 0;
  const deps: RestarterDeps = {
    workload: (kind, namespace, name) => cluster.get(workloadKey(kind, namespace, name)),
    autoReloaders: (namespace, name) =>
      [...cluster.values()].filter(
        (w) => w.namespace === namespace && w.autoReload && w.secrets.includes(name),
      ),
    async patch(workload, restartedFor) {
      if (failures > 0) {
        failures -= 1;
        throw new KubeError(options.failStatus ?? 503, 'Failure', 'restarting Deployment failed');
      }
      await options.slowPatch?.();
      patches.push(`${workload.kind}/${workload.name} ${JSON.stringify(restartedFor)}`);
      return { ...workload, restartedFor, resourceVersion: String(Number(workload.resourceVersion) + 1) };
    },
    remember: (workload) =>
      void cluster.set(workloadKey(workload.kind, workload.namespace, workload.name), workload),
    events: {
      record: async (target, type, reason, message) =>
        void events.push(`${target.kind ?? 'SecretDefinition'}/${target.name} ${type} ${reason}: ${message}`),
    },
    clock,
    minIntervalMs: 30_000,
    observer: { restarted: (kind) => void restarted.push(kind) },
    logger: { info: () => undefined, warn: () => undefined },
  };
  return { restarter: new Restarter(deps), clock, patches, events, restarted, cluster };
}

describe('rollout restarts', () => {
  test('a data change restarts an explicit target once: patched with the digest, an Event on each side, a count', async () => {
    const { restarter, clock, patches, events, restarted } = harness([deployment('web')]);
    const missing = restarter.secretInSync(
      definition,
      [{ kind: 'Deployment', name: 'web' }],
      secret('h2'),
      true,
    );
    assert.deepEqual(missing, []);
    await clock.advance(0);
    assert.deepEqual(patches, [`Deployment/web {"db-secret":"${digest('h2')}"}`]);
    assert.deepEqual(events, [
      'Deployment/web Normal RolloutRestarted: restarted by secrets-manager: the data of Secret db-secret changed',
      'SecretDefinition/db Normal RolloutRestarted: restarted Deployment web: the data of Secret db-secret changed',
    ]);
    assert.deepEqual(restarted, ['Deployment']);

    // The same data seen again (a resync, an operator restart): nothing.
    restarter.secretInSync(definition, [{ kind: 'Deployment', name: 'web' }], secret('h2'), false);
    await clock.advance(0);
    assert.equal(patches.length, 1);
  });

  test('no restart for a workload never restarted when this sync changed nothing (the operator started)', async () => {
    const { restarter, clock, patches } = harness([deployment('web')]);
    restarter.secretInSync(definition, [{ kind: 'Deployment', name: 'web' }], secret('h1'), false);
    await clock.advance(0);
    assert.deepEqual(patches, []);
  });

  test('a change missed while the operator was down restarts at the next sync', async () => {
    const { restarter, clock, patches } = harness([
      deployment('web', { restartedFor: { 'db-secret': digest('h1') } }),
    ]);
    restarter.secretInSync(definition, [{ kind: 'Deployment', name: 'web' }], secret('h2'), false);
    await clock.advance(0);
    assert.deepEqual(patches, [`Deployment/web {"db-secret":"${digest('h2')}"}`]);
  });

  test('auto-reload workloads whose pods read the Secret restart too; others in the namespace do not', async () => {
    const { restarter, clock, patches } = harness([
      deployment('reader', { autoReload: true, secrets: ['db-secret'] }),
      deployment('not-annotated', { secrets: ['db-secret'] }),
      deployment('other-secret', { autoReload: true, secrets: ['api'] }),
    ]);
    restarter.secretInSync(definition, [], secret('h2'), true);
    await clock.advance(0);
    assert.deepEqual(patches, [`Deployment/reader {"db-secret":"${digest('h2')}"}`]);
  });

  test('one workload restarts at most once per interval: changes meanwhile fold into the next restart', async () => {
    const { restarter, clock, patches } = harness([deployment('web', { secrets: ['db-secret'] })]);
    const target = [{ kind: 'Deployment' as const, name: 'web' }];
    restarter.secretInSync(definition, target, secret('h2'), true);
    await clock.advance(0);
    restarter.secretInSync(definition, target, secret('h3'), true);
    restarter.secretInSync(definition, target, secret('h4'), true);
    await clock.advance(29_000);
    assert.equal(patches.length, 1, 'not before the interval');
    await clock.advance(1_000);
    assert.deepEqual(patches.slice(1), [`Deployment/web {"db-secret":"${digest('h4')}"}`]);
  });

  test('a missing target, and one whose pods do not read the Secret, are answered; the others still restart', async () => {
    const { restarter, clock, patches } = harness([
      deployment('web'),
      deployment('unrelated', { secrets: ['other'] }),
    ]);
    const problems = restarter.secretInSync(
      definition,
      [
        { kind: 'Deployment', name: 'web' },
        { kind: 'StatefulSet', name: 'gone' },
        { kind: 'Deployment', name: 'unrelated' },
      ],
      secret('h2'),
      true,
    );
    assert.deepEqual(problems, [
      { target: { kind: 'StatefulSet', name: 'gone' }, problem: 'not found' },
      { target: { kind: 'Deployment', name: 'unrelated' }, problem: 'does not read the Secret' },
    ]);
    await clock.advance(0);
    assert.deepEqual(patches, ['Deployment/web {"db-secret":"h2"}']);
  });

  test('a change asked for while a patch is on its way waits its interval and keeps what the first wrote', async () => {
    let release = (): void => undefined;
    const { restarter, clock, patches, cluster } = harness(
      [deployment('web', { secrets: ['db-secret', 'api'], restartedFor: { 'db-secret': 'd1', api: 'a1' } })],
      { slowPatch: () => new Promise<void>((resolve) => (release = resolve)) },
    );
    const target = [{ kind: 'Deployment' as const, name: 'web' }];
    restarter.secretInSync(definition, target, secret('d2'), true);
    await clock.advance(0);
    // db-secret's restart is on its way; api changes now.
    restarter.secretInSync(definition, target, { name: 'api', dataId: 'a2' }, true);
    await clock.advance(0);
    release();
    await clock.advance(29_000);
    assert.equal(patches.length, 1, 'the second waits for the interval');
    await clock.advance(1_000);
    release();
    await clock.advance(0);
    assert.deepEqual(patches, [
      'Deployment/web {"db-secret":"d2","api":"a1"}',
      'Deployment/web {"db-secret":"d2","api":"a2"}',
    ]);
    assert.deepEqual(cluster.get('Deployment/team-a/web')?.restartedFor, { 'db-secret': 'd2', api: 'a2' });
  });

  test('a patch refused for good (403, 404, 422) is not retried', async () => {
    const { restarter, clock, patches } = harness([deployment('web')], { failPatches: 1, failStatus: 403 });
    restarter.secretInSync(definition, [{ kind: 'Deployment', name: 'web' }], secret('h2'), true);
    await clock.advance(10 * 60_000);
    assert.deepEqual(patches, []);
  });

  test('a failed patch is retried after a backoff, and restarts once it goes through', async () => {
    const { restarter, clock, patches, restarted } = harness([deployment('web')], { failPatches: 2 });
    restarter.secretInSync(definition, [{ kind: 'Deployment', name: 'web' }], secret('h2'), true);
    await clock.advance(0);
    assert.deepEqual(patches, []);
    await clock.advance(30_000);
    assert.deepEqual(patches, [], 'the second try failed too');
    await clock.advance(60_000);
    assert.equal(patches.length, 1);
    assert.deepEqual(restarted, ['Deployment']);
  });

  test('the restarted-for map keeps the other Secrets it read', async () => {
    const { restarter, clock, patches } = harness([
      deployment('web', {
        secrets: ['api', 'db-secret'],
        restartedFor: { api: 'a1', 'db-secret': digest('h1') },
      }),
    ]);
    restarter.secretInSync(definition, [{ kind: 'Deployment', name: 'web' }], secret('h2'), true);
    await clock.advance(0);
    assert.deepEqual(patches, [`Deployment/web {"api":"a1","db-secret":"${digest('h2')}"}`]);
  });

  test('after stop nothing more is restarted', async () => {
    const { restarter, clock, patches } = harness([
      deployment('web', { restartedFor: { 'db-secret': 'old' } }),
    ]);
    restarter.secretInSync(definition, [{ kind: 'Deployment', name: 'web' }], secret('h2'), true);
    restarter.stop();
    await clock.advance(60_000);
    assert.deepEqual(patches, []);
  });
});

describe('the RolloutRestart condition', () => {
  const targets = [
    { kind: 'Deployment' as const, name: 'web' },
    { kind: 'StatefulSet' as const, name: 'db' },
  ];

  test('none without targets; True when every target is restarted', () => {
    assert.equal(rolloutCondition([], [], 'team-a', 's'), undefined);
    assert.deepEqual(rolloutCondition(targets, [], 'team-a', 's'), {
      status: 'True',
      reason: 'TargetsFound',
      message: 'Deployment web, StatefulSet db restarted once each time the data of Secret s changes',
    });
  });

  test('False naming what is missing, what does not read the Secret, or that restarts are off', () => {
    assert.deepEqual(
      rolloutCondition(
        targets,
        [
          { target: targets[1]!, problem: 'not found' },
          { target: targets[0]!, problem: 'does not read the Secret' },
        ],
        'team-a',
        's',
      ),
      {
        status: 'False',
        reason: 'TargetNotFound',
        message:
          'StatefulSet db not found in namespace team-a; Deployment web not restarted: its pods do not read Secret s (env, envFrom or a volume); the other targets are restarted when the data changes',
      },
    );
    assert.equal(
      rolloutCondition(targets, [{ target: targets[0]!, problem: 'does not read the Secret' }], 'team-a', 's')
        ?.reason,
      'TargetDoesNotReadSecret',
    );
    assert.equal(rolloutCondition(targets, 'disabled', 'team-a', 's')?.reason, 'RolloutRestartDisabled');
  });
});
