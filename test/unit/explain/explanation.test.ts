import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explain } from '../../../src/explain/explanation.ts';
import { formatJson } from '../../../src/explain/format-json.ts';
import { formatText } from '../../../src/explain/format-text.ts';
import type { SourceOutcome } from '../../../src/explain/inputs.ts';
import { valueHash } from '../../../src/kube/live-secret.ts';
import type { Workload } from '../../../src/kube/workload.ts';
import { b64, definition, found, inputs, live, password, where } from './fixtures.ts';

describe('explain', () => {
  test('a definition whose keys are all found, before its Secret exists, would sync and create it', async () => {
    const e = await explain(await inputs());
    assert.deepEqual(e.verdict, {
      ready: true,
      reason: 'Synced',
      message: 'Secret app-secret would be in sync with Vault (refreshed every 1m)',
    });
    assert.equal(e.wouldSync, true);
    assert.deepEqual(e.changes, { kind: 'create', added: ['password'] });
    assert.deepEqual(
      e.keys.map((k) => [k.secretKey, k.policy, k.found, k.live]),
      [['password', 'allowed', 'found', 'added']],
    );
  });

  test('a Secret that holds the same data matches, and applying changes nothing', async () => {
    const e = await explain(await inputs({ live: live({ password }) }));
    assert.equal(e.keys[0]?.live, 'matches');
    assert.deepEqual(e.changes, { kind: 'none' });
  });

  test('an edited Secret differs: applying would change that key and remove a key it no longer wants', async () => {
    const secret = live({ password: 'edited-by-hand', old: 'x' });
    const e = await explain(await inputs({ live: secret }));
    assert.equal(e.keys[0]?.live, 'differs');
    assert.deepEqual(e.changes, { kind: 'update', added: [], changed: ['password'], removed: ['old'] });
  });

  test('a changed type is reported as the delete and create it would be', async () => {
    const secret = live({ password }, { type: 'kubernetes.io/tls' });
    const e = await explain(await inputs({ live: secret }));
    assert.deepEqual(e.changes, {
      kind: 'update',
      added: [],
      changed: [],
      removed: [],
      typeChange: { from: 'kubernetes.io/tls', to: 'Opaque' },
    });
  });

  test('a path the policy refuses as written is PathNotAllowed with the status message, and nothing would be written', async () => {
    const e = await explain(await inputs({ sources: [{ path: 'secret/app/db', mayAllow: false }] }));
    assert.equal(e.verdict.reason, 'PathNotAllowed');
    assert.equal(
      e.verdict.message,
      "the access policy has no rule that lets namespace team-a read Vault path secret/app/db; use a path the policy gives this namespace, or ask the operator's administrators for a rule",
    );
    assert.deepEqual(
      e.keys.map((k) => [k.policy, k.found, k.live]),
      [['denied', 'notRead', 'notCompared']],
    );
    assert.deepEqual(e.changes, { kind: 'notSynced' });
    assert.equal(e.wouldSync, false);
  });

  test('a path refused once its mount is known is PathNotAllowed too', async () => {
    const sources: SourceOutcome[] = [
      { path: 'secret/app/db', mayAllow: true, resolved: { ok: true, where, allowed: false } },
    ];
    const e = await explain(await inputs({ sources }));
    assert.equal(e.verdict.reason, 'PathNotAllowed');
    assert.equal(e.paths[0]?.policy, 'denied');
  });

  test('a missing key is KeyNotFound, naming the key and the Secret key', async () => {
    const e = await explain(await inputs({ sources: [found({ user: 'app' })] }));
    assert.equal(e.verdict.reason, 'KeyNotFound');
    assert.equal(
      e.verdict.message,
      'key "password" not found at Vault path secret/app/db (for Secret key "password")',
    );
    assert.equal(e.keys[0]?.found, 'keyNotFound');
  });

  test('a path the backend does not have is its read failure, as the status says it', async () => {
    const sources: SourceOutcome[] = [
      {
        path: 'secret/app/db',
        mayAllow: true,
        resolved: { ok: true, where, allowed: true },
        read: { ok: false, reason: 'PathNotFound', message: 'Vault path secret/app/db does not exist' },
      },
    ];
    const e = await explain(await inputs({ sources }));
    assert.deepEqual(
      [e.verdict.reason, e.keys[0]?.found, e.paths[0]?.read],
      ['PathNotFound', 'pathNotFound', 'failed'],
    );
  });

  test('a template that does not render is TemplateError', async () => {
    const template = { data: { url: '{{ data.password | nosuchfilter }}' }, mergePolicy: 'Replace' as const };
    const e = await explain(await inputs({ definition: definition({ template }) }));
    assert.equal(e.verdict.reason, 'TemplateError');
    assert.match(e.verdict.message, /^template for key "url": /);
  });

  test('a Secret another definition controls is a Conflict; one nobody manages is SecretNotOwned', async () => {
    const theirs = live(
      { password },
      {
        ownerReferences: [
          {
            apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
            kind: 'SecretDefinition',
            name: 'other',
            uid: 'u-2',
            controller: true,
          },
        ],
      },
    );
    assert.equal((await explain(await inputs({ live: theirs }))).verdict.reason, 'Conflict');
    const foreign = live({ password }, { ownerReferences: [], labels: {}, annotations: {} });
    assert.equal((await explain(await inputs({ live: foreign }))).verdict.reason, 'SecretNotOwned');
    const older = [{ name: 'first', createdAt: '2025-01-01T00:00:00Z' }];
    assert.equal((await explain(await inputs({ rivals: older }))).verdict.reason, 'Conflict');
  });

  test('a PKI definition is not issued: it says it would be, and still asks the policy of its path', async () => {
    const pki = { path: 'pki/issue/web', commonName: 'web', altNames: [], ipSans: [] };
    const d = definition({ pki, keysMap: {} });
    const refused = await explain(await inputs({ definition: d, sources: [], issuingAllowed: false }));
    assert.equal(refused.verdict.reason, 'PathNotAllowed');
    const allowed = await explain(await inputs({ definition: d, sources: [], issuingAllowed: true }));
    assert.equal(allowed.verdict.reason, 'Synced');
    assert.ok(
      allowed.notes.some(
        (n) =>
          n.includes('would issue a certificate at pki/issue/web') && n.includes('explain does not issue it'),
      ),
    );
    assert.deepEqual(
      allowed.keys.map((k) => k.secretKey),
      ['tls.crt', 'tls.key', 'ca.crt'],
    );
  });

  test('with --rollout-restart, changed data restarts the targets and the auto-reload workloads that read the Secret', async () => {
    const workload = (name: string, autoReload: boolean, secrets: string[]): Workload => ({
      ...{ kind: 'Deployment', namespace: 'team-a', name, uid: name, resourceVersion: '1' },
      ...{ autoReload, secrets, restartedFor: {} },
    });
    const d = definition({ rolloutRestartTargets: [{ kind: 'Deployment', name: 'web' }] });
    const workloads = [
      workload('web', false, ['app-secret']),
      workload('worker', true, ['app-secret']),
      workload('other', true, ['x']),
    ];
    const rollout = { enabled: true as const, workloads };
    const changed = await explain(await inputs({ definition: d, rollout, live: live({ password: 'old' }) }));
    assert.deepEqual(changed.rollout.restarts, ['Deployment web', 'Deployment worker']);
    assert.equal(changed.rollout.condition?.reason, 'TargetsFound');
    const same = await explain(await inputs({ definition: d, rollout, live: live({ password }) }));
    assert.deepEqual(same.rollout.restarts, []);
    const off = await explain(await inputs({ definition: d }));
    assert.equal(off.rollout.condition?.reason, 'RolloutRestartDisabled');
  });

  test('a namespace the operator does not watch would not sync, and says why', async () => {
    const e = await explain(await inputs({ watched: false }));
    assert.equal(e.verdict.ready, true);
    assert.equal(e.wouldSync, false);
    assert.ok(e.notes.some((n) => n.includes('does not watch namespace team-a')));
  });

  test('neither the text nor the JSON holds a value or a hash of one', async () => {
    for (const secret of [undefined, live({ password: 'edited-by-hand' })]) {
      const e = await explain(await inputs({ live: secret }));
      const printed = formatText(e) + formatJson(e);
      for (const forbidden of [
        password,
        b64(password),
        valueHash(b64(password)),
        'edited-by-hand',
        valueHash(b64('edited-by-hand')),
      ])
        assert.ok(!printed.includes(forbidden), `printed ${forbidden}`);
      assert.equal((JSON.parse(formatJson(e)) as { kind: string }).kind, 'SecretDefinitionExplanation');
    }
  });

  test('text output escapes control characters from key names and messages: a key cannot clear the screen or forge a line', async () => {
    const key = 'bad\u001b[2J\nWould sync: yes';
    const e = await explain(
      await inputs({
        definition: definition({ keysMap: {}, dataFrom: [{ path: 'secret/app/db' }] }),
        sources: [found({ [key]: 'x', ['\u009bok\r\u202e']: 'y' })],
      }),
    );
    const text = formatText(e);
    // Only the newlines that end its own lines are left.
    assert.doesNotMatch(text.replaceAll('\n', ''), /[\p{Cc}\u202e]/u);
    assert.deepEqual(
      text.split('\n').filter((line) => line.startsWith('Would sync')),
      ['Would sync: no'],
    );
    assert.ok(text.includes('bad\\x1b[2J\\nWould sync: yes'), text);
    assert.ok(text.includes('\\x9bok\\r\\u202e'), text);
    // JSON keeps the key as it is: a JSON reader gets it escaped by JSON.
    assert.ok(formatJson(e).includes(JSON.stringify(key)));
  });
});
