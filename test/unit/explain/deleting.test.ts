import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { legacyFinalizer, type SecretDefinition } from '../../../src/api/types.ts';
import { deletionOf } from '../../../src/explain/deleting.ts';
import {
  definitionsPath,
  explainIn,
  kubeStandIn,
  kvAnswers,
  vaultStandIn,
} from '../../support/explain-stand-ins.ts';
import { definition as defined, live, password } from './fixtures.ts';
import { approleLogin, cluster, connected, definition, secretOfApp } from './shell-fixtures.ts';

function deleting(
  spec: Partial<SecretDefinition['spec']> = {},
  finalizers: readonly string[] = [],
): SecretDefinition {
  const d = defined(spec);
  return { ...d, metadata: { ...d.metadata, finalizers, deletionTimestamp: '2026-02-01T00:00:00Z' } };
}

describe('explain of a definition being deleted', () => {
  test('its Secret with an owner reference to it is deleted by the garbage collector', () => {
    const fate = deletionOf(deleting(), live({ password }), true);
    assert.equal(fate.secret, 'deleted');
    assert.match(fate.message, /garbage collector would delete Secret app-secret/);
  });

  test('with deletionPolicy Retain its Secret, which has no owner reference, is kept', () => {
    const fate = deletionOf(
      deleting({ deletionPolicy: 'Retain' }),
      live({ password }, { ownerReferences: [] }),
      true,
    );
    assert.deepEqual(fate, {
      since: '2026-02-01T00:00:00Z',
      secret: 'kept',
      message: 'Secret app-secret would be kept (deletionPolicy: Retain)',
    });
  });

  test("with the original operator's finalizer the operator deletes its Secret and removes the finalizer", () => {
    const fate = deletionOf(
      deleting({}, [legacyFinalizer]),
      live({ password }, { ownerReferences: [] }),
      true,
    );
    assert.equal(fate.secret, 'deleted');
    assert.equal(
      fate.message,
      `the operator would delete Secret app-secret; the operator would remove the finalizer ${legacyFinalizer}`,
    );
  });

  test('a Secret that is not there is nothing to delete; other finalizers keep the definition', () => {
    const fate = deletionOf(deleting({}, ['example.com/backup']), undefined, true);
    assert.equal(fate.secret, 'absent');
    assert.match(fate.message, /until its other finalizers are removed: example\.com\/backup$/);
  });

  test('in the cluster: exit 1, it says it is being deleted and what becomes of the Secret, and reads nothing from Vault', async (t) => {
    const gone = {
      ...definition,
      metadata: { ...definition.metadata, deletionTimestamp: '2026-02-01T00:00:00Z' },
    };
    const kube = await kubeStandIn(t, () =>
      cluster({
        [`GET ${definitionsPath}/team-a/secretdefinitions/app`]: { status: 200, body: gone },
        'GET /api/v1/namespaces/team-a/secrets/app-secret': { status: 200, body: secretOfApp },
      }),
    );
    const vault = await vaultStandIn(t, () => ({
      ...kvAnswers('team-a/db', { password: 'pw-unit-deleting' }),
      ...approleLogin,
    }));
    const explained = await explainIn([...(await connected(kube, vault)), 'explain', 'team-a/app']);
    assert.equal(explained.code, 1, explained.stderr + explained.stdout);
    assert.match(explained.stdout, /^Ready: +False Deleting$/m);
    assert.match(explained.stdout, /is being deleted \(since 2026-02-01T00:00:00Z\)/);
    assert.match(explained.stdout, /^ {2}Kubernetes' garbage collector would delete Secret app-secret/m);
    assert.match(explained.stdout, /^Would sync: no, it is being deleted$/m);
    assert.doesNotMatch(explained.stdout, /would be in sync|Would sync: yes/);
    assert.deepEqual(
      vault.seen.filter((s) => s.url.startsWith('/v1/secret/')),
      [],
      'nothing is read for it',
    );
  });
});
