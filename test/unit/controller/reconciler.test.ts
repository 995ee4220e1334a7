import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecretDefinitionStatus } from '../../../src/api/types.ts';
import { Reconciler } from '../../../src/controller/reconciler.ts';
import { inThreadRenderer } from '../../../src/controller/template.ts';
import { SecretIndex } from '../../../src/controller/secret-index.ts';
import { TargetIndex } from '../../../src/controller/target-index.ts';
import { legacyFinalizer, managedByLabel, managedByValue, ownerAnnotation } from '../../../src/api/types.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import type { LiveSecret } from '../../../src/kube/live-secret.ts';
import { FakeSecretServer } from '../../support/fake-secret-server.ts';
import { allowAll, parseAccessPolicy, type AccessPolicy } from '../../../src/policy/access-policy.ts';
import { ProviderError } from '../../../src/providers/errors.ts';
import type {
  IssuedSecret,
  IssueRequest,
  ResolvedPath,
  SecretData,
  SourceRef,
} from '../../../src/providers/provider.ts';
import { Issuance } from '../../../src/controller/issuance.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { hostileDefinitions } from '../../support/hostile-definitions.ts';

/** Everything the reconciler did to the outside world, in order. */
type Effect =
  | { readonly kind: 'vault'; readonly what: string }
  | { readonly kind: 'secret'; readonly what: string }
  | { readonly kind: 'restart'; readonly what: string }
  | { readonly kind: 'status'; readonly reason: string | undefined; readonly message: string | undefined }
  | { readonly kind: 'event'; readonly type: string; readonly reason: string; readonly message: string };

/** The Kubernetes side of a harness: the apiserver's Secrets, and what else the test wires in. */
interface World {
  /** The apiserver; the cache holds the Secrets on it labelled as the operator's. */
  readonly server?: FakeSecretServer;
  /** The apiserver's refusal of every status patch. */
  readonly refuseStatus?: Error;
  /** Rollout restarts on: what the restarter was told is recorded as a 'restart' effect. */
  readonly restarts?: boolean;
  readonly secretIndex?: SecretIndex;
  readonly targetIndex?: TargetIndex;
  /** The definition's finalizers after the reconciler set them. */
  readonly finalizers?: string[][];
  /** The definition as the cache holds it now (undefined: deleted); by default the harness's. */
  readonly definition?: () => unknown;
  /** What the backend issues at a pki or dynamic path (recorded as an 'issue' vault effect). */
  readonly issue?: (request: IssueRequest) => IssuedSecret;
  readonly clock?: FakeClock;
}

const isOurs = (live: LiveSecret): boolean => live.labels[managedByLabel] === managedByValue;

const templates = await inThreadRenderer();

function harness(
  raw: unknown,
  policy: AccessPolicy = allowAll,
  vault: Record<string, SecretData | ProviderError> = {},
  refreshStretched?: () => boolean,
  world: World = {},
) {
  const effects: Effect[] = [];
  const readErrors: string[] = [];
  const reads: string[] = [];
  const vaultErrors: string[] = [];
  const untracked: string[] = [];
  const statuses: SecretDefinitionStatus[] = [];
  const server = world.server ?? new FakeSecretServer();
  server.onCall = (what) => effects.push({ kind: 'secret', what });
  const clock = world.clock ?? new FakeClock();
  const quiet = { info: () => {}, warn: () => {}, debug: () => {} };
  const issuance = new Issuance({
    clock,
    secrets: server,
    graceMs: 60_000,
    observer: {
      issued: () => {},
      renewed: () => {},
      revoked: () => {},
      expires: () => {},
      renewsAt: () => {},
      cleared: () => {},
    },
    logger: quiet,
  });
  // The label-selected cache as it stood when the harness was built, kept up to date by the reconciler.
  const cache = new Map<string, LiveSecret>();
  for (const key of server.keys()) {
    const [namespace = '', name = ''] = key.split('/');
    const live = server.get(namespace, name);
    if (live && isOurs(live)) cache.set(key, live);
  }
  const reconciler = new Reconciler({
    definition: world.definition ?? (() => raw),
    liveSecret: (key) => cache.get(key),
    rememberSecret: (secret) => cache.set(`${secret.namespace}/${secret.name}`, secret),
    forgetSecret: (key) => cache.delete(key),
    secretIndex: world.secretIndex ?? new SecretIndex(),
    targetIndex: world.targetIndex ?? new TargetIndex(),
    backend: 'vault',
    sources: () => ({
      async resolve(path: string): Promise<ResolvedPath> {
        effects.push({ kind: 'vault', what: `resolve ${path}` });
        const [mount = '', ...rest] = path.split('/');
        // A ProviderError under "<mount>/" fails the mount lookup itself.
        const lookup = vault[`${mount}/`];
        if (lookup instanceof ProviderError) throw lookup;
        const name = rest[0] === 'data' ? rest.slice(1) : rest;
        return {
          path: [mount, ...name].join('/'),
          apiPath: [mount, 'data', ...name].join('/'),
          mount: `${mount}/`,
          version: 2,
        };
      },
      track: (user: string, sources: readonly SourceRef[]) =>
        effects.push({ kind: 'vault', what: `track ${user} ${sources.map((s) => s.path).join(',')}` }),
      untrack: (user: string) => untracked.push(user),
      async get(source: SourceRef): Promise<SecretData> {
        effects.push({ kind: 'vault', what: `read ${source.path}` });
        const answer = vault[source.path];
        if (answer instanceof ProviderError) throw answer;
        return answer ?? {};
      },
      async issue(request: IssueRequest): Promise<IssuedSecret> {
        effects.push({ kind: 'vault', what: `issue ${request.method} ${request.path}` });
        if (!world.issue) throw new Error(`nothing issues at ${request.path}`);
        return world.issue(request);
      },
      async renewLease(leaseId: string, increment: number) {
        effects.push({ kind: 'vault', what: `renew ${leaseId} ${increment}` });
        return { durationSeconds: increment, renewable: true };
      },
      async revokeLease(leaseId: string) {
        effects.push({ kind: 'vault', what: `revoke ${leaseId}` });
      },
      adoptLease: async () => undefined,
      leaseEndsBy: () => undefined,
    }),
    issuance,
    access: () => policy,
    secrets: server,
    templates,
    ...(world.restarts
      ? {
          restarts: {
            secretInSync: (_definition, _targets, secret, dataChanged) => {
              effects.push({
                kind: 'restart',
                what: `${secret.name} ${dataChanged ? 'changed' : 'unchanged'}`,
              });
              return [];
            },
          },
        }
      : {}),
    definitions: {
      async patchStatus(_namespace: string, _name: string, status: SecretDefinitionStatus) {
        const ready = status.conditions?.find((c) => c.type === 'Ready');
        effects.push({ kind: 'status', reason: ready?.reason, message: ready?.message });
        statuses.push(status);
        if (world.refuseStatus) throw world.refuseStatus;
      },
      async setFinalizers(_namespace: string, _name: string, finalizers: readonly string[]) {
        world.finalizers?.push([...finalizers]);
      },
    },
    events: {
      async record(_target, type, reason, message) {
        effects.push({ kind: 'event', type, reason, message });
      },
    },
    clock,
    defaultRefreshMs: 60_000,
    ...(refreshStretched ? { refreshStretched } : {}),
    observer: {
      synced: () => {},
      forgotten: () => {},
      secretWritten: () => {},
      secretReadFailed: (namespace, definition, secretName) =>
        readErrors.push(`${namespace} ${definition} ${secretName}`),
      reads: (namespace, definition, secretName, keys) =>
        reads.push(
          `${namespace} ${definition} ${secretName}: ${keys.map((k) => `${k.path}#${k.key}`).join(' ')}`,
        ),
      readFailed: (namespace, definition, path, key, error) =>
        vaultErrors.push(
          `${path} ${key} ${error}${namespace === 'team-a' && definition === 'def' ? '' : ' (wrong definition)'}`,
        ),
    },
    logger: quiet,
  });
  return {
    reconciler,
    issuance,
    effects,
    readErrors,
    reads,
    vaultErrors,
    server,
    cache,
    untracked,
    statuses,
  };
}

const manifest = (namespace: string, spec: unknown) => ({
  apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
  kind: 'SecretDefinition',
  metadata: { name: 'def', namespace, uid: 'u-1', generation: 1, resourceVersion: '1' },
  spec,
});

test('two keys of one path and a dataFrom of it, in either KV v2 spelling, are one Vault read', async () => {
  const { reconciler, effects } = harness(
    manifest('team-a', {
      name: 's',
      keysMap: {
        user: { path: 'secret/db', key: 'username' },
        pass: { path: 'secret/data/db', key: 'password' },
      },
      dataFrom: [{ path: 'secret/db' }],
    }),
    allowAll,
    { 'secret/db': { username: 'app', password: 'hunter2' } },
  );
  assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
  assert.deepEqual(
    effects.filter((e) => e.kind === 'vault').map((e) => e.what),
    ['resolve secret/db', 'resolve secret/data/db', 'track team-a/def secret/db', 'read secret/db'],
  );
});

describe('the reconciler refuses hostile definitions: one InvalidSpec, one Event, nothing else', () => {
  for (const hostile of hostileDefinitions) {
    test(hostile.title, async () => {
      const { reconciler, effects } = harness(manifest('team-a', hostile.spec));
      assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done', failure: 'InvalidSpec' });
      assert.equal(effects.length, 2, JSON.stringify(effects));
      const [event, status] = effects;
      assert.equal(event?.kind, 'event');
      assert.equal(status?.kind, 'status');
      if (event?.kind !== 'event' || status?.kind !== 'status') return;
      assert.equal(event.type, 'Warning');
      assert.equal(status.reason, 'InvalidSpec');
      assert.match(status.message ?? '', /^invalid spec: /);
      assert.match((status.message ?? '').slice('invalid spec: '.length), hostile.problem);
      assert.equal(event.message, status.message);
    });
  }
});

describe('the access policy, as the reconciler applies it', () => {
  const parsed = parseAccessPolicy('- { namespaces: ["team-*"], paths: ["secret/data/{namespace}/*"] }');
  assert.ok(parsed.ok);
  const policy = parsed.policy;

  test("a path of another team's is PathNotAllowed, with an Event and no Vault request", async () => {
    const { reconciler, effects } = harness(
      manifest('team-a', { name: 's', keysMap: { v: { path: 'secret/team-b/db', key: 'v' } } }),
      policy,
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done', failure: 'PathNotAllowed' });
    const message =
      "the access policy has no rule that lets namespace team-a read Vault path secret/team-b/db; use a path the policy gives this namespace, or ask the operator's administrators for a rule";
    assert.deepEqual(effects, [
      { kind: 'event', type: 'Warning', reason: 'SyncFailed', message },
      { kind: 'status', reason: 'PathNotAllowed', message },
    ]);
  });

  test('a namespace that no rule names reads nothing', async () => {
    const { reconciler, effects } = harness(
      manifest('kube-system', { name: 's', dataFrom: [{ path: 'secret/kube-system/x' }] }),
      policy,
    );
    await reconciler.reconcile('kube-system/def');
    assert.equal(effects.filter((e) => e.kind === 'vault').length, 0);
    assert.equal(effects.at(-1)?.kind === 'status' && effects.at(-1)?.kind, 'status');
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && e.reason),
      ['PathNotAllowed'],
    );
  });

  test('its own paths, in either KV v2 spelling, sync', async () => {
    const { reconciler, effects } = harness(
      manifest('team-a', {
        name: 's',
        keysMap: {
          a: { path: 'secret/team-a/db', key: 'v' },
          b: { path: 'secret/data/team-a/db', key: 'v' },
        },
      }),
      policy,
      { 'secret/team-a/db': { v: 'x' } },
    );
    await reconciler.reconcile('team-a/def');
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && e.reason),
      ['Synced'],
    );
    assert.ok(effects.some((e) => e.kind === 'secret' && e.what === 'create team-a/s Opaque'));
  });

  test('a path that could be allowed until Vault says where its mount ends is refused before it is read', async () => {
    // The rule names secret/x/data/db: right if "secret/x/" were the KV v2 mount. The mount is
    // "secret/", so the read would go to secret/data/x/db, which no rule allows.
    const narrow = parseAccessPolicy('- { namespaces: [team-a], paths: ["secret/x/data/db"] }');
    assert.ok(narrow.ok);
    const { reconciler, effects } = harness(
      manifest('team-a', { name: 's', keysMap: { v: { path: 'secret/x/db', key: 'v' } } }),
      narrow.policy,
    );
    await reconciler.reconcile('team-a/def');
    assert.deepEqual(
      effects.filter((e) => e.kind === 'vault').map((e) => e.kind === 'vault' && e.what),
      ['resolve secret/x/db'],
    );
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && e.reason),
      ['PathNotAllowed'],
    );
  });
});

describe('refreshes stretched beyond the interval asked for', () => {
  const spec = { name: 's', keysMap: { v: { path: 'secret/a', key: 'v' } } };

  test('a synced definition says so in its Ready reason, with a message that names no factor', async () => {
    const { reconciler, effects } = harness(
      manifest('team-a', spec),
      allowAll,
      { 'secret/a': { v: 'x' } },
      () => true,
    );
    await reconciler.reconcile('team-a/def');
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status'),
      [
        {
          kind: 'status',
          reason: 'RefreshStretched',
          message:
            'Secret s is in sync with Vault, but Vault is read less often than every 1m: all paths together need more reads than --vault.qps allows (see the operator log and secrets_manager_vault_refresh_stretch_ratio)',
        },
      ],
    );
  });

  test('without a stretch the reason is Synced', async () => {
    const { reconciler, effects } = harness(
      manifest('team-a', spec),
      allowAll,
      { 'secret/a': { v: 'x' } },
      () => false,
    );
    await reconciler.reconcile('team-a/def');
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && e.reason),
      ['Synced'],
    );
  });
});

test("a target Secret not there yet counts as a read error, as the original counted it, under the Secret's name", async () => {
  const { reconciler, readErrors } = harness(
    manifest('team-a', { name: 's', keysMap: { v: { path: 'secret/a', key: 'v' } } }),
    allowAll,
    { 'secret/a': { v: 'x' } },
  );
  await reconciler.reconcile('team-a/def');
  assert.deepEqual(readErrors, ['team-a def s']);
});

test('each sync says what the definition reads now and the Secret it writes, so older read errors can go', async () => {
  const { reconciler, reads } = harness(
    manifest('team-a', {
      name: 's',
      keysMap: { a: { path: 'secret/a', key: 'k1' }, b: { path: 'secret/b', key: 'k2' } },
      dataFrom: [{ path: 'secret/all' }],
    }),
    allowAll,
    { 'secret/a': { k1: 'x' }, 'secret/b': { k2: 'y' }, 'secret/all': { z: 'z' } },
  );
  await reconciler.reconcile('team-a/def');
  assert.deepEqual(reads, ['team-a def s: secret/a#k1 secret/b#k2 secret/all#']);
});

describe("failed Vault reads are counted per key with the original's error names", () => {
  test('a key missing from its path: BackendSecretNotFoundError for that path and key', async () => {
    const { reconciler, vaultErrors } = harness(
      manifest('team-a', { name: 's', keysMap: { v: { path: 'secret/a', key: 'v' } } }),
      allowAll,
      { 'secret/a': { other: 'x' } },
    );
    await reconciler.reconcile('team-a/def');
    assert.deepEqual(vaultErrors, ['secret/a v BackendSecretNotFoundError']);
  });

  test('a mount lookup Vault refuses counts for the paths under it as their read would: BackendSecretForbiddenError', async () => {
    const { reconciler, vaultErrors } = harness(
      manifest('team-a', {
        name: 's',
        keysMap: { a: { path: 'hidden/a', key: 'k' }, b: { path: 'secret/a', key: 'v' } },
      }),
      allowAll,
      { 'hidden/': new ProviderError('Forbidden', 'permission denied'), 'secret/a': { v: 'x' } },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'Forbidden' });
    assert.deepEqual(vaultErrors, ['hidden/a k BackendSecretForbiddenError']);
  });

  for (const [reason, name] of [
    ['PathNotFound', 'BackendSecretNotFoundError'],
    ['Forbidden', 'BackendSecretForbiddenError'],
    ['VaultUnavailable', 'UnknownError'],
  ] as const) {
    test(`a read failing with ${reason}: ${name} once for every key that reads the path, "" for dataFrom`, async () => {
      const { reconciler, vaultErrors } = harness(
        manifest('team-a', {
          name: 's',
          keysMap: { a: { path: 'secret/a', key: 'k1' }, b: { path: 'secret/a', key: 'k2' } },
          dataFrom: [{ path: 'secret/a' }],
        }),
        allowAll,
        { 'secret/a': new ProviderError(reason, 'no') },
      );
      await reconciler.reconcile('team-a/def');
      assert.deepEqual(vaultErrors.sort(), [
        `secret/a  ${name}`,
        `secret/a k1 ${name}`,
        `secret/a k2 ${name}`,
      ]);
    });
  }
});

const definitionRef = {
  apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
  kind: 'SecretDefinition',
  name: 'def',
  uid: 'u-1',
  controller: true,
};
const b64 = (record: Record<string, string>) =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));

/** A Secret `name` in team-a, as `owner` (a definition's name) wrote it with this operator. */
function ourConfig(type: string, data: Record<string, string>, owner = 'def', name = 's') {
  return {
    name,
    namespace: 'team-a',
    type,
    labels: { [managedByLabel]: managedByValue },
    annotations: { [ownerAnnotation]: owner },
    data: b64(data),
    ownerReferences: [{ ...definitionRef, name: owner, uid: owner === 'def' ? 'u-1' : 'u-other' }],
  };
}

/** An apiserver holding the Secret `def` wrote in team-a, applied by this operator. */
function serverWith(type: string, data: Record<string, string>): FakeSecretServer {
  const server = new FakeSecretServer();
  server.put(ourConfig(type, data), 'secrets-manager', 'Apply');
  return server;
}

/** The Secret calls, and status reasons and Event reasons, in order. */
const writes = (effects: readonly Effect[]): string[] =>
  effects
    .filter((e) => e.kind !== 'vault')
    .map((e) =>
      e.kind === 'status'
        ? `status ${e.reason}`
        : e.kind === 'event'
          ? `event ${e.reason} ${e.message}`
          : e.kind === 'restart'
            ? `restart ${e.what}`
            : e.what,
    );

const oneKey = (extra: Record<string, unknown> = {}) =>
  manifest('team-a', { name: 's', keysMap: { v: { path: 'secret/db', key: 'v' } }, ...extra });

describe('the write path, against an apiserver that holds Secrets', () => {
  test('a Secret not there is created with one request and no read; a first creation has no Event', async () => {
    const { reconciler, effects, server } = harness(
      oneKey(),
      allowAll,
      { 'secret/db': { v: 'one' } },
      undefined,
      {
        restarts: true,
      },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(writes(effects), ['create team-a/s Opaque', 'restart s unchanged', 'status Synced']);
    assert.deepEqual(server.data('team-a', 's'), { v: 'one' });
  });

  test('a Secret in sync is not written, and a status that already says so is not either', async () => {
    const definition = { ...oneKey(), status: {} as SecretDefinitionStatus };
    const { reconciler, effects, statuses } = harness(
      definition,
      allowAll,
      { 'secret/db': { v: 'one' } },
      undefined,
      { server: serverWith('Opaque', { v: 'one' }), restarts: true },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(writes(effects), ['restart s unchanged', 'status Synced']);
    // The status patch of the first pass is the definition's status now.
    definition.status = statuses.at(-1) ?? {};
    effects.length = 0;
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(writes(effects), ['restart s unchanged']);
  });

  test("new data is applied over the Secret's uid, with an Event, and restarts are told the data changed", async () => {
    const { reconciler, effects, server } = harness(
      oneKey(),
      allowAll,
      { 'secret/db': { v: 'two' } },
      undefined,
      {
        server: serverWith('Opaque', { v: 'one' }),
        restarts: true,
      },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(writes(effects), [
      'apply team-a/s Opaque',
      'restart s changed',
      'status Synced',
      'event Synced updated Secret s (data key v differs)',
    ]);
    assert.deepEqual(server.data('team-a', 's'), { v: 'two' });
  });

  test("a key the operator created and no longer wants is removed: the create's fields are taken over first", async () => {
    const vault = { 'secret/db': { v: 'one', w: 'two' } };
    let raw: unknown = manifest('team-a', { name: 's', dataFrom: [{ path: 'secret/db' }] });
    const world = { server: new FakeSecretServer() };
    const first = harness(raw, allowAll, vault, undefined, world);
    await first.reconciler.reconcile('team-a/def');
    assert.deepEqual(world.server.data('team-a', 's'), { v: 'one', w: 'two' });

    raw = manifest('team-a', { name: 's', keysMap: { v: { path: 'secret/db', key: 'v' } } });
    const second = harness(raw, allowAll, vault, undefined, world);
    assert.deepEqual(await second.reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(writes(second.effects).slice(0, 2), [
      'adoptCreatedFields team-a/s',
      'apply team-a/s Opaque',
    ]);
    assert.deepEqual(world.server.data('team-a', 's'), { v: 'one' });
  });

  test('a Secret of another definition is a Conflict: nothing is written and the path is not polled', async () => {
    const server = new FakeSecretServer();
    server.put(ourConfig('Opaque', { v: 'theirs' }, 'other'), 'secrets-manager', 'Apply');
    const { reconciler, effects, untracked } = harness(
      oneKey(),
      allowAll,
      { 'secret/db': { v: 'one' } },
      undefined,
      {
        server,
      },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), {
      kind: 'requeueAfter',
      ms: 60_000,
      failure: 'Conflict',
    });
    assert.deepEqual(writes(effects), [
      'event SyncFailed Secret s is managed by SecretDefinition other; give this definition another spec.name',
      'status Conflict',
    ]);
    assert.deepEqual(untracked, ['team-a/def']);
    assert.deepEqual(server.data('team-a', 's'), { v: 'theirs' });
  });

  test('a Secret some other tool made is found by the create, read once, and never written; later passes read it first', async () => {
    const server = new FakeSecretServer();
    server.put({ ...ourConfig('Opaque', { v: 'theirs' }), labels: {}, annotations: {}, ownerReferences: [] });
    const { reconciler, effects } = harness(oneKey(), allowAll, { 'secret/db': { v: 'one' } }, undefined, {
      server,
    });
    assert.equal((await reconciler.reconcile('team-a/def')).kind, 'requeueAfter');
    assert.deepEqual(writes(effects), [
      'create team-a/s Opaque',
      'read team-a/s',
      'event SecretNotOwned Secret s exists and it was not created by secrets-manager (no secrets-manager.tuenti.io/owner annotation); it is left untouched: delete it or choose another spec.name',
      'status SecretNotOwned',
    ]);
    effects.length = 0;
    assert.equal((await reconciler.reconcile('team-a/def')).kind, 'requeueAfter');
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      ['read team-a/s'],
    );
    assert.equal(
      effects.some((e) => e.kind === 'vault' && e.what.startsWith('read')),
      false,
      'a Secret known to be taken costs no Vault read',
    );
    assert.deepEqual(server.data('team-a', 's'), { v: 'theirs' });
  });

  test('a definition deleted after it found its name taken leaves nothing behind: made again, it creates first', async () => {
    const server = new FakeSecretServer();
    server.put({ ...ourConfig('Opaque', { v: 'theirs' }), labels: {}, annotations: {}, ownerReferences: [] });
    let cached: unknown = oneKey();
    const { reconciler, effects } = harness(cached, allowAll, { 'secret/db': { v: 'one' } }, undefined, {
      server,
      definition: () => cached,
    });
    assert.equal((await reconciler.reconcile('team-a/def')).kind, 'requeueAfter');
    cached = undefined;
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    server.remove('team-a', 's');
    cached = oneKey();
    effects.length = 0;
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      ['create team-a/s Opaque'],
    );
  });

  test('a Secret replaced by another tool after the cache saw it is not written: the apply over the old uid is refused', async () => {
    const server = serverWith('Opaque', { v: 'one' });
    const { reconciler, effects } = harness(oneKey(), allowAll, { 'secret/db': { v: 'two' } }, undefined, {
      server,
    });
    server.remove('team-a', 's');
    server.put({ ...ourConfig('Opaque', { v: 'theirs' }), labels: {}, annotations: {}, ownerReferences: [] });
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'KubernetesError' });
    assert.deepEqual(writes(effects).slice(0, 1), ['apply team-a/s Opaque']);
    assert.deepEqual(server.data('team-a', 's'), { v: 'theirs' });
  });

  test('after a rename of spec.name, the Secret under the old name goes (deletionPolicy Delete), with an Event', async () => {
    const server = new FakeSecretServer();
    const old = server.put(ourConfig('Opaque', { v: 'one' }, 'def', 'old'), 'secrets-manager', 'Apply');
    const secretIndex = new SecretIndex();
    secretIndex.upserted(old);
    const { reconciler, effects } = harness(
      manifest('team-a', {
        name: 's',
        deletionPolicy: 'Delete',
        keysMap: { v: { path: 'secret/db', key: 'v' } },
      }),
      allowAll,
      { 'secret/db': { v: 'one' } },
      undefined,
      { server, secretIndex },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(writes(effects), [
      'create team-a/s Opaque',
      'delete team-a/old',
      'event Deleted deleted Secret old, which spec.name no longer names',
      'status Synced',
    ]);
    assert.deepEqual(server.keys(), ['team-a/s']);
  });

  test("a definition being deleted with the original's finalizer deletes its Secret (deletionPolicy Delete) and lets go", async () => {
    const server = serverWith('Opaque', { v: 'one' });
    const finalizers: string[][] = [];
    const raw = manifest('team-a', {
      name: 's',
      deletionPolicy: 'Delete',
      keysMap: { v: { path: 'secret/db', key: 'v' } },
    });
    const deleting = {
      ...raw,
      metadata: {
        ...raw.metadata,
        deletionTimestamp: '2026-12-03T00:00:00Z',
        finalizers: [legacyFinalizer, 'keep'],
      },
    };
    const { reconciler, effects } = harness(deleting, allowAll, {}, undefined, { server, finalizers });
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(writes(effects), [
      'delete team-a/s',
      'event Deleted deleted Secret s with its SecretDefinition',
    ]);
    assert.deepEqual(finalizers, [['keep']]);
    assert.deepEqual(server.keys(), []);
  });
});

describe('a change of type, which the apiserver can only make by deleting and creating the Secret', () => {
  const tls = (keys: Record<string, { path: string; key: string }>) =>
    manifest('team-a', { name: 's', type: 'kubernetes.io/tls', keysMap: keys });
  const vault = { 'secret/cert': { crt: 'C', key: 'K' } };
  const both = {
    'tls.crt': { path: 'secret/cert', key: 'crt' },
    'tls.key': { path: 'secret/cert', key: 'key' },
  };

  test('is checked by a dry-run create first: accepted, the Secret is deleted and created with the new type', async () => {
    const server = serverWith('Opaque', { 'tls.crt': 'C' });
    const { reconciler, effects } = harness(tls(both), allowAll, vault, undefined, { server });
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      [
        'checkCreate team-a/s kubernetes.io/tls',
        'snapshot team-a/s',
        'delete team-a/s',
        'create team-a/s kubernetes.io/tls',
      ],
    );
    assert.equal(server.get('team-a', 's')?.type, 'kubernetes.io/tls');
  });

  test('accepted by the dry run but refused when made (a quota that changed in between): the old Secret is put back as it was', async () => {
    const server = serverWith('Opaque', { 'tls.crt': 'C' });
    const before = server.get('team-a', 's');
    const refusal = new KubeError(
      403,
      'Forbidden',
      'creating Secret team-a/s failed (403 Forbidden): exceeded quota: secrets',
    );
    server.refuse = (call, config) =>
      call === 'create' && config?.type === 'kubernetes.io/tls' ? refusal : undefined;
    const { reconciler, effects } = harness(tls(both), allowAll, vault, undefined, { server });
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'KubernetesError' });
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      [
        'checkCreate team-a/s kubernetes.io/tls',
        'snapshot team-a/s',
        'delete team-a/s',
        'create team-a/s kubernetes.io/tls',
        'create team-a/s Opaque',
      ],
    );
    const back = server.get('team-a', 's');
    assert.deepEqual(
      [back?.type, server.data('team-a', 's'), back?.labels, back?.annotations],
      [before?.type, { 'tls.crt': 'C' }, before?.labels, before?.annotations],
    );
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && e.message),
      [`${refusal.message}; Secret s was put back as it was (type Opaque)`],
    );
  });

  test('refused by the dry run (a kubernetes.io/tls without tls.key): the last good Secret stays, and the status says why', async () => {
    const refusal = new KubeError(
      422,
      'Invalid',
      'checking that the apiserver takes Secret team-a/s (a dry run) failed (422 Invalid): the apiserver refused data[tls.key]: FieldValueRequired',
    );
    const server = serverWith('Opaque', { 'tls.crt': 'C' });
    server.refuse = (call, config) =>
      call === 'checkCreate' && config?.data['tls.key'] === undefined ? refusal : undefined;
    const { reconciler, effects } = harness(tls({ 'tls.crt': both['tls.crt'] }), allowAll, vault, undefined, {
      server,
    });
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'KubernetesError' });
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      ['checkCreate team-a/s kubernetes.io/tls'],
    );
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && [e.reason, e.message]),
      [['KubernetesError', refusal.message]],
    );
    assert.deepEqual(server.data('team-a', 's'), { 'tls.crt': 'C' });
  });

  test('a Secret another tool creates between the delete and the create is never written', async () => {
    const server = serverWith('Opaque', { 'tls.crt': 'C' });
    server.refuse = (call) => {
      if (call === 'create')
        server.put({
          ...ourConfig('Opaque', { v: 'theirs' }),
          labels: {},
          annotations: {},
          ownerReferences: [],
        });
      return undefined;
    };
    const { reconciler, effects } = harness(tls(both), allowAll, vault, undefined, { server });
    assert.equal((await reconciler.reconcile('team-a/def')).kind, 'requeueAfter');
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      [
        'checkCreate team-a/s kubernetes.io/tls',
        'snapshot team-a/s',
        'delete team-a/s',
        'create team-a/s kubernetes.io/tls',
        'read team-a/s',
      ],
    );
    assert.deepEqual(server.data('team-a', 's'), { v: 'theirs' });
  });
});

test('a status patch refused after the Secret was written is retried with backoff; the Event of the change is still recorded', async () => {
  const { reconciler, effects } = harness(oneKey(), allowAll, { 'secret/db': { v: 'rotated' } }, undefined, {
    server: serverWith('Opaque', { v: 'before' }),
    refuseStatus: new KubeError(503, 'ServiceUnavailable', 'patching status: 503 ServiceUnavailable'),
  });
  assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'KubernetesError' });
  assert.deepEqual(writes(effects), [
    'apply team-a/s Opaque',
    'status Synced',
    'event Synced updated Secret s (data key v differs)',
  ]);
});

test('a status the apiserver refuses for good (422) after the Secret was written is not tried again until something changes', async () => {
  const { reconciler, effects } = harness(oneKey(), allowAll, { 'secret/db': { v: 'rotated' } }, undefined, {
    server: serverWith('Opaque', { v: 'before' }),
    refuseStatus: new KubeError(422, 'Invalid', 'patching status: 422 Invalid'),
  });
  assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
  assert.deepEqual(writes(effects), [
    'apply team-a/s Opaque',
    'status Synced',
    'event Synced updated Secret s (data key v differs)',
  ]);
});

test('a failure whose status could not be written is retried with backoff, though the failure itself waits for a change', async () => {
  const refuseStatus = new KubeError(503, 'ServiceUnavailable', 'patching status: 503 ServiceUnavailable');
  const missingKey = harness(oneKey(), allowAll, { 'secret/db': { other: 'x' } }, undefined, {
    refuseStatus,
  });
  assert.deepEqual(await missingKey.reconciler.reconcile('team-a/def'), {
    kind: 'retry',
    reason: 'KeyNotFound',
  });
  const invalid = harness(
    manifest('team-a', { name: 's', keysMap: { v: { key: 'v' } } }),
    allowAll,
    {},
    undefined,
    {
      refuseStatus,
    },
  );
  assert.deepEqual(await invalid.reconciler.reconcile('team-a/def'), {
    kind: 'retry',
    reason: 'InvalidSpec',
  });
  // Written, the same failures wait for a change.
  const written = harness(oneKey(), allowAll, { 'secret/db': { other: 'x' } });
  assert.deepEqual(await written.reconciler.reconcile('team-a/def'), {
    kind: 'done',
    failure: 'KeyNotFound',
  });
});

describe('a definition with an issuing engine', () => {
  const dynamicManifest = (extra: Record<string, unknown> = {}) =>
    manifest('team-a', {
      name: 'db',
      dynamic: { path: 'database/creds/app', renewPercent: 50 },
      keysMap: { host: { path: 'secret/db', key: 'host' } },
      ...extra,
    });
  const lease = (n: number): IssuedSecret => ({
    data: { username: `v-app-${n}`, password: `pw-${n}` },
    lease: { id: `database/creds/app/l${n}`, durationSeconds: 3600, renewable: true },
  });

  test('writes the issued keys beside the KV keys, records them, says when it looks again, and issues nothing more until then', async () => {
    let issued = 0;
    const { reconciler, effects, server, statuses } = harness(
      dynamicManifest(),
      allowAll,
      { 'secret/db': { host: 'db.internal' } },
      undefined,
      {
        issue: () => lease((issued += 1)),
      },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'requeueAfter', ms: 30 * 60_000 });
    assert.deepEqual(server.data('team-a', 'db'), {
      host: 'db.internal',
      username: 'v-app-1',
      password: 'pw-1',
    });
    const record = JSON.parse(
      server.get('team-a', 'db')?.annotations['secrets-manager.tuenti.io/issued'] ?? '{}',
    ) as Record<string, unknown>;
    assert.deepEqual(record['keys'], ['username', 'password']);
    assert.equal((record['lease'] as { id: string }).id, 'database/creds/app/l1');
    assert.equal(statuses.at(-1)?.dynamic?.leaseDurationSeconds, 3600);
    assert.doesNotMatch(JSON.stringify(statuses), /l1|pw-1/, 'no lease id or password in the status');
    const events = effects.filter((e) => e.kind === 'event');
    assert.deepEqual(
      events.map((e) => (e.kind === 'event' ? `${e.type} ${e.reason} ${e.message}` : '')),
      ['Normal Issued issued new credentials (a lease of 3600s): first sync'],
    );

    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'requeueAfter', ms: 30 * 60_000 });
    assert.equal(issued, 1, 'a second reconcile (a KV change, a resync) issues nothing');
  });

  test("the access policy applies to the issuing path: a tenant cannot issue from another team's role", async () => {
    const parsed = parseAccessPolicy(
      '- { namespaces: [team-a], paths: ["secret/*", "database/creds/team-a-*"] }',
    );
    assert.ok(parsed.ok);
    const policy = parsed.policy;
    const { reconciler, effects } = harness(
      dynamicManifest(),
      policy,
      { 'secret/db': { host: 'h' } },
      undefined,
      {
        issue: () => assert.fail('nothing may be issued'),
      },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done', failure: 'PathNotAllowed' });
    assert.deepEqual(
      effects.filter((e) => e.kind === 'vault'),
      [],
    );
  });

  test('a keysMap key that is also an issued key is refused, and nothing is written', async () => {
    const { reconciler, server } = harness(
      dynamicManifest({ keysMap: { password: { path: 'secret/db', key: 'host' } } }),
      allowAll,
      { 'secret/db': { host: 'h' } },
      undefined,
      { issue: () => lease(1) },
    );
    // The credentials' own clock keeps the definition coming back while it fails.
    assert.deepEqual(await reconciler.reconcile('team-a/def'), {
      kind: 'requeueAfter',
      ms: 30 * 60_000,
      failure: 'InvalidSpec',
    });
    assert.equal(server.get('team-a', 'db'), undefined);
  });

  test('a deleted definition revokes its lease', async () => {
    let present = true;
    const raw = dynamicManifest();
    const { reconciler, effects } = harness(raw, allowAll, { 'secret/db': { host: 'h' } }, undefined, {
      issue: () => lease(1),
      definition: () => (present ? raw : undefined),
    });
    await reconciler.reconcile('team-a/def');
    present = false;
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(
      effects
        .filter((e) => e.kind === 'vault')
        .map((e) => e.what)
        .filter((w) => /issue|revoke/.test(w)),
      ['issue GET database/creds/app', 'revoke database/creds/app/l1'],
    );
  });

  test('a refused issue keeps the last good Secret and backs off', async () => {
    const { reconciler, effects } = harness(
      dynamicManifest(),
      allowAll,
      { 'secret/db': { host: 'h' } },
      undefined,
      {
        issue: () => {
          throw new ProviderError(
            'Forbidden',
            'the Vault policy does not allow issuing at database/creds/app',
            403,
          );
        },
      },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'Forbidden' });
    assert.ok(!effects.some((e) => e.kind === 'secret' && /create|apply/.test(e.what)));
  });
});

test("a KV path that fails does not stop a lease's clock: the definition comes back when the lease is due", async () => {
  const { reconciler, effects } = harness(
    manifest('team-a', {
      name: 'db',
      dynamic: { path: 'database/creds/app', renewPercent: 50 },
      keysMap: { host: { path: 'secret/db', key: 'host' } },
    }),
    allowAll,
    { 'secret/db': new ProviderError('PathNotFound', 'no secret at Vault path secret/db', 404) },
    undefined,
    {
      issue: () => ({
        data: { username: 'u', password: 'p' },
        lease: { id: 'database/creds/app/l1', durationSeconds: 3600, renewable: true },
      }),
    },
  );
  assert.deepEqual(await reconciler.reconcile('team-a/def'), {
    kind: 'requeueAfter',
    ms: 30 * 60_000,
    failure: 'PathNotFound',
  });
  assert.ok(effects.some((e) => e.kind === 'vault' && e.what === 'issue GET database/creds/app'));
});
