import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, SecretDefinition, SecretDefinitionStatus } from '../../../src/api/types.ts';
import { Reporter } from '../../../src/controller/reporter.ts';
import { FakeClock } from '../../support/fake-clock.ts';

/** A reporter whose writes and Events are recorded; `definition` starts with `status`. */
function setup(status: SecretDefinitionStatus = {}, backend: Backend = 'vault', refreshStretched = false) {
  const clock = new FakeClock(Date.UTC(2026, 10, 27, 10, 0, 0));
  const patches: SecretDefinitionStatus[] = [];
  const events: string[] = [];
  const synced: string[] = [];
  const warnings: string[] = [];
  const remembered: { answered: unknown; basedOn: string }[] = [];
  const reporter = new Reporter({
    backend,
    refreshStretched: () => refreshStretched,
    definitions: {
      async patchStatus(namespace, name, next) {
        patches.push(next);
        return { metadata: { namespace, name, resourceVersion: `${patches.length + 1}` }, status: next };
      },
      async setFinalizers() {},
    },
    rememberDefinition: (answered, basedOn) => remembered.push({ answered, basedOn }),
    events: {
      async record(_target, type, reason, message) {
        events.push(`${type} ${reason}: ${message}`);
      },
    },
    clock,
    defaultRefreshMs: 60_000,
    observer: { synced: (_ns, _name, ok, reason) => synced.push(`${String(ok)} ${reason}`) },
    logger: {
      info: () => {},
      warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    },
  });
  let current: SecretDefinition = {
    metadata: {
      name: 'def',
      namespace: 'ns',
      uid: 'u-1',
      generation: 1,
      resourceVersion: '1',
      labels: {},
      annotations: {},
      finalizers: [],
      creationTimestamp: '2026-11-27T09:00:00Z',
    },
    spec: {
      name: 's',
      type: 'Opaque',
      keysMap: {},
      dataFrom: [],
      deletionPolicy: 'Delete',
      rolloutRestartTargets: [],
    },
    status,
  };
  /** The definition as the next reconcile sees it: with the last status written. */
  const definition = (): SecretDefinition => {
    const last = patches.at(-1);
    if (last) current = { ...current, status: last };
    return current;
  };
  return { clock, reporter, patches, events, synced, warnings, definition, remembered };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const created = { kind: 'create', text: 'created Secret s' } as const;
const rotated = { kind: 'update', text: 'updated Secret s (data changed)' } as const;

describe('the reporter', () => {
  test('a first sync writes Ready=True Synced and the sync time; its creation has no Event, a later change of the Secret has one', async () => {
    const { reporter, patches, events, synced, definition } = setup();
    await reporter.synced(definition(), created);
    await flush();
    assert.deepEqual(patches, [
      {
        observedGeneration: 1,
        secretName: 's',
        lastSyncTime: '2026-11-27T10:00:00Z',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Synced',
            message: 'Secret s is in sync with Vault (refreshed every 1m)',
            observedGeneration: 1,
            lastTransitionTime: '2026-11-27T10:00:00Z',
          },
        ],
      },
    ]);
    assert.deepEqual(events, []);
    assert.deepEqual(synced, ['true Synced']);
    await reporter.synced(definition(), rotated);
    await flush();
    assert.deepEqual(events, ['Normal Synced: updated Secret s (data changed)']);
  });

  test('an Azure definition is told it is in sync with Azure Key Vault, and which flag raises its read rate', async () => {
    const messages = async (backend: Backend, stretched: boolean) => {
      const { reporter, patches, definition } = setup({}, backend, stretched);
      await reporter.synced(definition(), created);
      return patches[0]?.conditions?.[0]?.message;
    };
    assert.equal(
      await messages('azure-kv', false),
      'Secret s is in sync with Azure Key Vault (refreshed every 1m)',
    );
    assert.equal(
      await messages('azure-kv', true),
      'Secret s is in sync with Azure Key Vault, but Azure Key Vault is read less often than every 1m: all paths together need more reads than --azure-kv.qps allows (see the operator log and secrets_manager_vault_refresh_stretch_ratio)',
    );
    assert.match((await messages('vault', true)) ?? '', /in sync with Vault, .* than --vault\.qps allows/);
  });

  test('a reconcile that finds everything in sync writes nothing and records no Event', async () => {
    const { clock, reporter, patches, events, definition } = setup();
    await reporter.synced(definition(), created);
    await clock.advance(60_000);
    await reporter.synced(definition(), undefined);
    await flush();
    assert.equal(patches.length, 1, 'the status did not change, so it was not patched');
    assert.deepEqual(events, []);
  });

  test('a failure is recorded once on entering it: one Event, one status write, the transition time kept while it lasts', async () => {
    const { clock, reporter, patches, events, synced, definition } = setup();
    await reporter.synced(definition(), created);
    await clock.advance(10_000);
    const failure = { reason: 'VaultUnavailable', message: 'Vault is down', retry: 'none' } as const;
    await reporter.failed(definition(), failure);
    await clock.advance(10_000);
    await reporter.failed(definition(), failure);
    await flush();
    assert.equal(patches.length, 2, 'the second failure changed nothing');
    const ready = patches[1]?.conditions?.find((c) => c.type === 'Ready');
    assert.deepEqual(
      [ready?.status, ready?.reason, ready?.lastTransitionTime],
      ['False', 'VaultUnavailable', '2026-11-27T10:00:10Z'],
    );
    assert.equal(patches[1]?.lastSyncTime, '2026-11-27T10:00:00Z', 'the last good sync time stays');
    assert.deepEqual(events, ['Warning SyncFailed: Vault is down']);
    assert.deepEqual(synced, ['true Synced', 'false VaultUnavailable', 'false VaultUnavailable']);
  });

  test("what the backend said is in the operator's log line, never in the status or the Event", async () => {
    const { reporter, patches, events, warnings, definition } = setup();
    const said = 'permission denied on sys/raw, asked by hvs.not-here';
    await reporter.failed(definition(), {
      reason: 'VaultUnavailable',
      message: 'Vault answered 400 reading Vault path secret/db',
      retry: 'none',
      detail: said,
    });
    assert.deepEqual(events, ['Warning SyncFailed: Vault answered 400 reading Vault path secret/db']);
    assert.equal(JSON.stringify(patches).includes(said), false);
    assert.deepEqual(warnings, [
      `secret sync failed ${JSON.stringify({
        namespace: 'ns',
        definition: 'def',
        reason: 'VaultUnavailable',
        detail: 'Vault answered 400 reading Vault path secret/db',
        backendSaid: said,
      })}`,
    ]);
  });

  test('recovering moves the transition time and the sync time, without an Event when no data changed', async () => {
    const { clock, reporter, patches, events, definition } = setup();
    await reporter.synced(definition(), created);
    await clock.advance(10_000);
    await reporter.failed(definition(), { reason: 'VaultUnavailable', message: 'down', retry: 'none' });
    await clock.advance(10_000);
    await reporter.synced(definition(), undefined);
    await flush();
    const last = patches.at(-1);
    assert.equal(last?.lastSyncTime, '2026-11-27T10:00:20Z');
    assert.equal(last?.conditions?.[0]?.lastTransitionTime, '2026-11-27T10:00:20Z');
    assert.deepEqual(events, ['Warning SyncFailed: down']);
  });

  test("the apiserver's answer to a status write is handed on with the version the write started from; nothing when nothing was written", async () => {
    const { reporter, patches, remembered, definition } = setup();
    await reporter.synced(definition(), created);
    assert.deepEqual(remembered, [
      {
        answered: { metadata: { namespace: 'ns', name: 'def', resourceVersion: '2' }, status: patches[0] },
        basedOn: '1',
      },
    ]);
    await reporter.synced(definition(), undefined);
    assert.equal(patches.length, 1, 'the same status is not written again');
    assert.equal(remembered.length, 1);
  });
});
