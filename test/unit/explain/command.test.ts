// The shell of `explain` (command.ts), run in-process against an apiserver and a Vault stand-in:
// which identity it reads with, what it revokes, what it strips from a file, how it fails.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  definitionsPath,
  explainIn,
  kubeStandIn,
  kvAnswers,
  vaultStandIn,
} from '../../support/explain-stand-ins.ts';
import { approleLogin, cluster, connected, definition, fileOf, secretOfApp } from './shell-fixtures.ts';

const revokes = (seen: readonly { method: string; url: string; headers: Record<string, string[]> }[]) =>
  seen.filter((s) => s.url === '/v1/auth/token/revoke-self').map((s) => s.headers['x-vault-token']?.[0]);

describe('explain, the shell', () => {
  test('namespace scope reads with the namespace identity, and the token explain logged in with is revoked at exit', async (t) => {
    const kube = await kubeStandIn(t, () =>
      cluster({
        'POST /api/v1/namespaces/team-a/serviceaccounts/reader/token': {
          status: 201,
          body: { status: { token: 'sa-token-for-team-a' } },
        },
      }),
    );
    const vault = await vaultStandIn(t, () => ({
      ...kvAnswers('team-a/db', { password: 'pw-unit-namespace' }),
      'POST /v1/auth/kubernetes/login': {
        status: 200,
        body: { auth: { client_token: 'hvs.namespace-login', lease_duration: 3600, renewable: true } },
      },
    }));
    const explained = await explainIn([
      `--kubeconfig=${await kube.kubeconfig()}`,
      `--vault.url=${vault.address}`,
      '--vault.auth-scope=namespace',
      // The operator's own method does not matter here: each namespace logs in with Kubernetes auth.
      '--vault.auth-method=token',
      '--vault.tenant-service-account=reader',
      '--vault.tenant-role=tenant-{namespace}',
      'explain',
      'team-a/app',
    ]);
    assert.equal(explained.code, 0, explained.stderr + explained.stdout);
    assert.match(explained.stdout, /^Ready: +True Synced$/m);
    assert.match(
      explained.stdout,
      /^Identity: +Kubernetes: kubeconfig \S+, context test, user u; Vault: kubernetes login per namespace, as its --vault.tenant-service-account \(namespace scope\)$/m,
    );
    const login = vault.seen.find((s) => s.url === '/v1/auth/kubernetes/login');
    assert.deepEqual(JSON.parse(login?.body ?? '{}'), { role: 'tenant-team-a', jwt: 'sa-token-for-team-a' });
    assert.deepEqual(revokes(vault.seen), ['hvs.namespace-login']);
  });

  test('a token given with --vault.token is never revoked', async (t) => {
    const kube = await kubeStandIn(t, () => cluster());
    const vault = await vaultStandIn(t, () => kvAnswers('team-a/db', { password: 'pw-unit-given' }));
    const explained = await explainIn([
      `--kubeconfig=${await kube.kubeconfig()}`,
      `--vault.url=${vault.address}`,
      '--vault.auth-method=token',
      '--vault.token=hvs.given-by-the-user',
      'explain',
      'team-a/app',
    ]);
    assert.equal(explained.code, 0, explained.stderr + explained.stdout);
    assert.ok(vault.seen.some((s) => s.url.startsWith('/v1/secret/data/team-a/db')));
    assert.deepEqual(revokes(vault.seen), []);
  });

  test('a file copied from kubectl get -o yaml and renamed is judged without the uid of the object it was copied from: Conflict, not Synced', async (t) => {
    const kube = await kubeStandIn(t, () =>
      cluster({
        'GET /api/v1/namespaces/team-a/secrets/app-secret': { status: 200, body: secretOfApp },
      }),
    );
    const vault = await vaultStandIn(t, () => ({
      ...kvAnswers('team-a/db', { password: 'pw-unit-owned' }),
      ...approleLogin,
    }));
    const copied = {
      ...definition,
      metadata: {
        ...definition.metadata,
        name: 'app-copy',
        deletionTimestamp: '2026-02-01T00:00:00Z',
        managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
      },
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Synced' }] },
    };
    const file = await fileOf(t, JSON.stringify(copied));
    const explained = await explainIn([
      ...(await connected(kube, vault)),
      'explain',
      '-f',
      file,
      '-o',
      'json',
    ]);
    assert.equal(explained.code, 1, explained.stderr);
    const json = JSON.parse(explained.stdout) as {
      verdict: { reason: string; message: string };
      identity: { kubernetes: string; backend: unknown };
    };
    assert.equal(json.verdict.reason, 'Conflict');
    assert.match(json.identity.kubernetes, /, context test, user u$/);
    assert.deepEqual(json.identity.backend, { method: 'approle', scope: 'operator' });
    assert.match(json.verdict.message, /managed by SecretDefinition app;/);
  });

  test('a bad -n is a usage error before any request: exit 2, saying what a namespace may hold', async (t) => {
    const kube = await kubeStandIn(t, () => cluster());
    const vault = await vaultStandIn(t, () => ({ ...kvAnswers('team-a/db', {}), ...approleLogin }));
    const { metadata, ...rest } = definition;
    const file = await fileOf(t, JSON.stringify({ ...rest, metadata: { name: metadata.name } }));
    const explained = await explainIn([
      ...(await connected(kube, vault)),
      'explain',
      '-f',
      file,
      '-n',
      'Team_A',
    ]);
    assert.equal(explained.code, 2);
    assert.match(explained.stderr, /"Team_A" is not a namespace name: lowercase letters, digits and "-"/);
    assert.deepEqual(kube.seen, []);
  });

  test('reads the caller may not make are no verdict: exit 3, saying what could not be checked and as whom', async (t) => {
    const forbidden = { status: 403, body: { kind: 'Status', reason: 'Forbidden', message: 'no' } };
    for (const [refused, what] of [
      ['GET /api/v1/namespaces/team-a/secrets/app-secret', 'the Secret app-secret in team-a'],
      [`GET ${definitionsPath}/team-a/secretdefinitions`, 'the other SecretDefinitions in team-a'],
      [`GET ${definitionsPath}/team-a/secretdefinitions/app`, 'SecretDefinition team-a/app'],
    ] as const) {
      const kube = await kubeStandIn(t, () => cluster({ [refused]: forbidden }));
      const vault = await vaultStandIn(t, () => ({
        ...kvAnswers('team-a/db', { p: 'pw-unit-3' }),
        ...approleLogin,
      }));
      const explained = await explainIn([...(await connected(kube, vault)), 'explain', 'team-a/app']);
      assert.equal(explained.code, 3, explained.stderr + explained.stdout);
      assert.equal(explained.stdout, '');
      assert.ok(
        explained.stderr.startsWith(`secrets-manager explain: could not check: ${what}`),
        explained.stderr,
      );
      assert.match(
        explained.stderr,
        /\(your credentials: forbidden\); asked as Kubernetes: kubeconfig \S+, context test, user u; Vault: approle login \(operator scope\)\n$/,
      );
    }
  });

  test('a failure shown to the caller has credentials masked, as the log masks them', async (t) => {
    const echoed = 'hvs.CAESIJlWh3yF2yS5Tn4zZ9xq0aBcDeFgHiJk';
    const kube = await kubeStandIn(t, () =>
      cluster({
        'GET /api/v1/namespaces/team-a/secrets/app-secret': {
          status: 500,
          body: { kind: 'Status', reason: 'InternalError', message: `webhook echoed ${echoed}` },
        },
      }),
    );
    const vault = await vaultStandIn(t, () => ({
      ...kvAnswers('team-a/db', { p: 'pw-unit-3' }),
      ...approleLogin,
    }));
    const explained = await explainIn([...(await connected(kube, vault)), 'explain', 'team-a/app']);
    assert.equal(explained.code, 3);
    assert.match(
      explained.stderr,
      /could not check: the Secret app-secret in team-a \(reading Secret team-a\/app-secret failed \(500 InternalError\): webhook echoed \[REDACTED\]\)/,
    );
    assert.ok(!explained.stderr.includes(echoed));
  });

  test('a definition in the cluster that is invalid is its InvalidSpec verdict, as the status says: exit 1, in JSON too', async (t) => {
    const broken = {
      ...definition,
      spec: { name: 'app-secret', keysMap: { password: { key: 'password' } } },
    };
    const kube = await kubeStandIn(t, () =>
      cluster({ [`GET ${definitionsPath}/team-a/secretdefinitions/app`]: { status: 200, body: broken } }),
    );
    const vault = await vaultStandIn(t, () => ({ ...kvAnswers('team-a/db', {}), ...approleLogin }));
    const flags = await connected(kube, vault);
    const json = await explainIn([...flags, 'explain', 'team-a/app', '-o', 'json']);
    assert.equal(json.code, 1, json.stderr);
    const verdict = (JSON.parse(json.stdout) as { verdict: { reason: string; message: string } }).verdict;
    assert.equal(verdict.reason, 'InvalidSpec');
    assert.match(verdict.message, /^invalid spec: .*path/);
    const text = await explainIn([...flags, 'explain', 'team-a/app']);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^Ready: +False InvalidSpec$/m);
    assert.match(text.stdout, /^Would sync: no$/m);
    assert.deepEqual(
      vault.seen.filter((s) => s.url.startsWith('/v1/secret/')),
      [],
      'nothing is read for it',
    );
  });
});
