import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { Ledger } from '../../../soak/ledger.ts';
import {
  incorrectDefinitions,
  snapshotOf,
  untilCorrect,
  type ClusterView,
  type DefinitionObject,
} from '../../../soak/recovery.ts';

const definition = (namespace: string, name: string, path: string, deleting = false): DefinitionObject => ({
  metadata: {
    namespace,
    name,
    ...(deleting ? { deletionTimestamp: new Date(0) } : {}),
  },
  spec: { name: `${name}-secret`, keysMap: { v: { path } } },
});

const secretHolding = (value: string): V1Secret => ({ data: { v: Buffer.from(value).toString('base64') } });

function view(
  definitions: readonly DefinitionObject[],
  secrets: Record<string, string>,
  phases: Record<string, string> = {},
): ClusterView {
  return {
    definitions: () => definitions,
    secret: (name, namespace) => {
      const value = secrets[`${namespace}/${name}`];
      return value === undefined ? undefined : secretHolding(value);
    },
    namespacePhase: (namespace) => phases[namespace] ?? 'Active',
  };
}

test('a definition is correct when its Secret holds its path’s value as new as the snapshot’s, or newer', () => {
  const ledger = new Ledger();
  ledger.willWrite('secret/a', 'a-0');
  ledger.willWrite('secret/a', 'a-1');
  const definitions = [definition('ns', 'd', 'secret/a')];
  const snapshot = snapshotOf(definitions, ledger, 0);
  assert.deepEqual(incorrectDefinitions(view(definitions, { 'ns/d-secret': 'a-1' }), ledger, snapshot), []);
  ledger.willWrite('secret/a', 'a-2');
  assert.deepEqual(
    incorrectDefinitions(view(definitions, { 'ns/d-secret': 'a-2' }), ledger, snapshot),
    [],
    'a value written after the snapshot is newer, so correct',
  );
  assert.deepEqual(
    incorrectDefinitions(view(definitions, { 'ns/d-secret': 'a-1' }), ledger, snapshot),
    [],
    'the snapshot’s value is still enough after a later write',
  );
});

test('each wrong definition is named with what its Secret holds against the generation it wants', () => {
  const ledger = new Ledger();
  for (const value of ['a-0', 'a-1']) ledger.willWrite('secret/a', value);
  ledger.willWrite('secret/b', 'b-0');
  const definitions = [
    definition('ns', 'old', 'secret/a'),
    definition('ns', 'missing', 'secret/a'),
    definition('ns', 'other', 'secret/a'),
    definition('ns', 'right', 'secret/b'),
  ];
  const secrets = { 'ns/old-secret': 'a-0', 'ns/other-secret': 'b-0', 'ns/right-secret': 'b-0' };
  assert.deepEqual(
    incorrectDefinitions(view(definitions, secrets), ledger, snapshotOf(definitions, ledger, 0)),
    [
      'ns/old (secret/a: holds generation 0, wants 1 or newer)',
      'ns/missing (secret/a: no Secret missing-secret, wants 1 or newer)',
      'ns/other (secret/a: holds no value of it, wants 1 or newer)',
    ],
  );
});

test('only definitions of the snapshot count, and not while they or their namespace go away, nor a Secret the operator may not write', () => {
  const ledger = new Ledger();
  ledger.willWrite('secret/a', 'a-0');
  const before = [definition('ns', 'kept', 'secret/a'), definition('gone', 'd', 'secret/a')];
  const snapshot = snapshotOf([...before, definition('ns', 'deleting', 'secret/a', true)], ledger, 0);
  assert.deepEqual([...snapshot.definitions].sort(), ['gone/d', 'ns/kept'], 'one being deleted is not in it');
  const now = [
    definition('ns', 'kept', 'secret/a'),
    definition('gone', 'd', 'secret/a'),
    definition('ns', 'created-after', 'secret/a'),
  ];
  assert.deepEqual(incorrectDefinitions(view(now, {}, { gone: 'Terminating' }), ledger, snapshot), [
    'ns/kept (secret/a: no Secret kept-secret, wants 0 or newer)',
  ]);
  ledger.foreign.set('ns/kept-secret', '12');
  assert.deepEqual(incorrectDefinitions(view(now, {}, { gone: 'Terminating' }), ledger, snapshot), []);
  const deletedSince = [definition('ns', 'kept', 'secret/a', true)];
  ledger.foreign.clear();
  assert.deepEqual(incorrectDefinitions(view(deletedSince, {}), ledger, snapshot), []);
});

/** A clock that moves only when the wait pauses. */
function fakeClock(): { now: () => number; pause: (ms: number) => Promise<void> } {
  let now = 0;
  return {
    now: () => now,
    pause: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  };
}

test('a late recovery answers its seconds and names the definitions still wrong when the budget ran out', async () => {
  // Wrong: a and b until 1 s, then b alone until 3 s; the budget is 2 s.
  const clock = fakeClock();
  const incorrect = (): string[] => (clock.now() <= 1_000 ? ['a', 'b'] : clock.now() <= 3_000 ? ['b'] : []);
  assert.deepEqual(await untilCorrect(incorrect, 0, 2_000, 6_000, clock), { seconds: 3.25, wrong: ['b'] });
});

test('a recovery within the budget names none; one past the wait answers no seconds and who was late', async () => {
  const clock = fakeClock();
  const soon = (): string[] => (clock.now() < 500 ? ['a'] : []);
  assert.deepEqual(await untilCorrect(soon, 0, 2_000, 6_000, clock), { seconds: 0.5, wrong: [] });
  // Both wrong when the budget runs out at 2 s; b alone from 2.5 s to the end of the wait.
  const stuck = fakeClock();
  const never = (): string[] => (stuck.now() < 2_500 ? ['a', 'b'] : ['b']);
  assert.deepEqual(await untilCorrect(never, 0, 2_000, 6_000, stuck), { wrong: ['a', 'b'] });
});
