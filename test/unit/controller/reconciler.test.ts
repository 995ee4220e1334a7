import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecretDefinitionStatus } from '../../../src/api/types.ts';
import { Reconciler } from '../../../src/controller/reconciler.ts';
import { SecretIndex } from '../../../src/controller/secret-index.ts';
import { TargetIndex } from '../../../src/controller/target-index.ts';
import { ownerAnnotation } from '../../../src/api/types.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { toLiveSecret, type LiveSecret } from '../../../src/kube/live-secret.ts';
import type { SecretApplyConfig } from '../../../src/kube/secret-api.ts';
import { allowAll, parseAccessPolicy, type AccessPolicy } from '../../../src/policy/access-policy.ts';
import { ProviderError } from '../../../src/providers/errors.ts';
import type { ResolvedPath, SecretData, SourceRef } from '../../../src/providers/provider.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { hostileDefinitions } from '../../support/hostile-definitions.ts';

/** Everything the reconciler did to the outside world, in order. */
type Effect =
  | { readonly kind: 'vault'; readonly what: string }
  | { readonly kind: 'secret'; readonly what: string }
  | { readonly kind: 'status'; readonly reason: string | undefined; readonly message: string | undefined }
  | { readonly kind: 'event'; readonly type: string; readonly reason: string; readonly message: string };

/** The Kubernetes side of a harness: the Secret already there, and what the apiserver refuses. */
interface World {
  /** The target Secret as the cache holds it. */
  readonly live?: LiveSecret;
  /** The apiserver's refusal of a dry-run create or of an apply; undefined: it takes it. */
  readonly refuse?: (what: 'checkCreate' | 'apply', config: SecretApplyConfig) => Error | undefined;
  /** The apiserver's refusal of every status patch. */
  readonly refuseStatus?: Error;
}

function harness(
  raw: unknown,
  policy: AccessPolicy = allowAll,
  vault: Record<string, SecretData | ProviderError> = {},
  refreshStretched?: () => boolean,
  world: World = {},
) {
  const effects: Effect[] = [];
  const readErrors: string[] = [];
  const vaultErrors: string[] = [];
  const reconciler = new Reconciler({
    definition: () => raw,
    liveSecret: () => world.live,
    rememberSecret: () => {},
    forgetSecret: () => {},
    secretIndex: new SecretIndex(),
    targetIndex: new TargetIndex(),
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
      untrack: () => {},
      async get(source: SourceRef): Promise<SecretData> {
        effects.push({ kind: 'vault', what: `read ${source.path}` });
        const answer = vault[source.path];
        if (answer instanceof ProviderError) throw answer;
        return answer ?? {};
      },
    }),
    access: () => policy,
    secrets: {
      async read(namespace: string, name: string) {
        effects.push({ kind: 'secret', what: `read ${namespace}/${name}` });
        return undefined;
      },
      async checkCreate(config: SecretApplyConfig): Promise<void> {
        effects.push({
          kind: 'secret',
          what: `check create ${config.namespace}/${config.name} ${config.type}`,
        });
        const refusal = world.refuse?.('checkCreate', config);
        if (refusal) throw refusal;
      },
      async apply(config: SecretApplyConfig): Promise<LiveSecret> {
        effects.push({ kind: 'secret', what: `apply ${config.namespace}/${config.name} ${config.type}` });
        const refusal = world.refuse?.('apply', config);
        if (refusal) throw refusal;
        return {
          ...config,
          uid: 's-1',
          resourceVersion: '1',
          ownerReferences: [],
          managedFields: [],
        } as unknown as LiveSecret;
      },
      async delete(namespace: string, name: string) {
        effects.push({ kind: 'secret', what: `delete ${namespace}/${name}` });
      },
    },
    definitions: {
      async patchStatus(_namespace: string, _name: string, status: SecretDefinitionStatus) {
        const ready = status.conditions?.find((c) => c.type === 'Ready');
        effects.push({ kind: 'status', reason: ready?.reason, message: ready?.message });
        if (world.refuseStatus) throw world.refuseStatus;
      },
      async setFinalizers() {},
    },
    events: {
      async record(_target, type, reason, message) {
        effects.push({ kind: 'event', type, reason, message });
      },
    },
    clock: new FakeClock(),
    defaultRefreshMs: 60_000,
    ...(refreshStretched ? { refreshStretched } : {}),
    observer: {
      synced: () => {},
      forgotten: () => {},
      secretWritten: () => {},
      secretReadFailed: (namespace, definition, secretName) =>
        readErrors.push(`${namespace} ${definition} ${secretName}`),
      readFailed: (namespace, definition, path, key, error) =>
        vaultErrors.push(
          `${path} ${key} ${error}${namespace === 'team-a' && definition === 'def' ? '' : ' (wrong definition)'}`,
        ),
    },
    logger: { info: () => {}, warn: () => {}, debug: () => {} },
  });
  return { reconciler, effects, readErrors, vaultErrors };
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
      { kind: 'secret', what: 'read team-a/s' },
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
    assert.ok(effects.some((e) => e.kind === 'secret' && e.what === 'apply team-a/s Opaque'));
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

/** The Secret `def` wrote in team-a, as the cache holds it. */
function ourSecret(type: string, data: Record<string, string>): LiveSecret {
  const live = toLiveSecret(
    {
      metadata: {
        name: 's',
        namespace: 'team-a',
        uid: 's-old',
        resourceVersion: '7',
        annotations: { [ownerAnnotation]: 'def' },
        ownerReferences: [
          {
            apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
            kind: 'SecretDefinition',
            name: 'def',
            uid: 'u-1',
            controller: true,
          },
        ],
      },
      type,
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    },
    'secrets-manager',
  );
  assert.ok(live);
  return live;
}

describe('a change of type, which the apiserver can only make by deleting and creating the Secret', () => {
  const tls = (keys: Record<string, { path: string; key: string }>) =>
    manifest('team-a', { name: 's', type: 'kubernetes.io/tls', keysMap: keys });
  const vault = { 'secret/cert': { crt: 'C', key: 'K' } };

  test('is checked by a dry-run create first: accepted, the Secret is deleted and created with the new type', async () => {
    const { reconciler, effects } = harness(
      tls({ 'tls.crt': { path: 'secret/cert', key: 'crt' }, 'tls.key': { path: 'secret/cert', key: 'key' } }),
      allowAll,
      vault,
      undefined,
      { live: ourSecret('Opaque', { 'tls.crt': 'C' }) },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'done' });
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      ['check create team-a/s kubernetes.io/tls', 'delete team-a/s', 'apply team-a/s kubernetes.io/tls'],
    );
  });

  test('refused by the dry run (a kubernetes.io/tls without tls.key): the last good Secret stays, and the status says why', async () => {
    const refusal = new KubeError(
      422,
      'Invalid',
      'applying Secret team-a/s was refused (422 Invalid): data[tls.key]: Required value',
    );
    const { reconciler, effects } = harness(
      tls({ 'tls.crt': { path: 'secret/cert', key: 'crt' } }),
      allowAll,
      vault,
      undefined,
      {
        live: ourSecret('Opaque', { 'tls.crt': 'C' }),
        refuse: (what, config) =>
          what === 'checkCreate' && config.data['tls.key'] === undefined ? refusal : undefined,
      },
    );
    assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'KubernetesError' });
    assert.deepEqual(
      effects.filter((e) => e.kind === 'secret').map((e) => e.kind === 'secret' && e.what),
      ['check create team-a/s kubernetes.io/tls'],
    );
    assert.deepEqual(
      effects.filter((e) => e.kind === 'status').map((e) => e.kind === 'status' && [e.reason, e.message]),
      [['KubernetesError', refusal.message]],
    );
  });
});

test('a status patch refused after the Secret was written is retried with backoff; the Event of the change is still recorded', async () => {
  const { reconciler, effects } = harness(
    manifest('team-a', { name: 's', keysMap: { v: { path: 'secret/db', key: 'v' } } }),
    allowAll,
    { 'secret/db': { v: 'rotated' } },
    undefined,
    {
      live: ourSecret('Opaque', { v: 'before' }),
      refuseStatus: new KubeError(503, 'ServiceUnavailable', 'patching status: 503 ServiceUnavailable'),
    },
  );
  assert.deepEqual(await reconciler.reconcile('team-a/def'), { kind: 'retry', reason: 'KubernetesError' });
  assert.deepEqual(
    effects
      .filter((e) => e.kind !== 'vault')
      .map((e) =>
        e.kind === 'status' ? `status ${e.reason}` : e.kind === 'event' ? `event ${e.reason}` : e.what,
      ),
    ['apply team-a/s Opaque', 'status Synced', 'event Synced'],
  );
});
