import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeError } from '../../../../src/describe-error.ts';
import { ProviderError } from '../../../../src/providers/errors.ts';
import type { Credentials } from '../../../../src/providers/vault/auth.ts';
import {
  KvReader,
  kvRequestPath,
  locate,
  logicalPath,
  mountRelearnAfterMs,
  parseMount,
  type KvMount,
} from '../../../../src/providers/vault/kv.ts';
import { TokenManager } from '../../../../src/providers/vault/token-manager.ts';
import type { VaultCall, VaultReply, VaultTransport } from '../../../../src/providers/vault/transport.ts';
import { createVaultApi } from '../../../../src/providers/vault/vault-api.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

const v2: KvMount = { path: 'secret/', version: 2 };
const v1: KvMount = { path: 'kv/', version: 1 };
const nested: KvMount = { path: 'team/kv/', version: 2 };

describe('where a definition path lands', () => {
  test('KV v2 reads go to <mount>/data/<name>, with or without data/ written; KV v1 reads go to the path', () => {
    assert.deepEqual(kvRequestPath(locate(v2, 'secret/app/db')), ['secret', 'data', 'app', 'db']);
    assert.deepEqual(kvRequestPath(locate(v2, 'secret/data/app/db')), ['secret', 'data', 'app', 'db']);
    assert.deepEqual(kvRequestPath(locate(v1, 'kv/app/db')), ['kv', 'app', 'db']);
    assert.deepEqual(kvRequestPath(locate(nested, 'team/kv/x')), ['team', 'kv', 'data', 'x']);
    assert.deepEqual(kvRequestPath(locate(v2, 'secret/app/with space')), [
      'secret',
      'data',
      'app',
      'with space',
    ]);
  });

  test('both spellings of a KV v2 secret have one logical path', () => {
    assert.equal(logicalPath(locate(v2, 'secret/data/app/db')), 'secret/app/db');
    assert.equal(logicalPath(locate(v2, 'secret/app/db')), 'secret/app/db');
    assert.equal(logicalPath(locate(v1, 'kv/data/app')), 'kv/data/app');
  });

  test('a mount matches whole segments only, and a path must name a secret below it', () => {
    assert.throws(() => locate(v2, 'secretive/app'), { reason: 'InvalidSpec' });
    assert.throws(() => locate(nested, 'team/kvx/app'), { reason: 'InvalidSpec' });
    assert.throws(() => locate(v2, 'secret/data'), { reason: 'InvalidSpec', message: /data\/ folder/ });
  });

  test("only a kv or generic mount that is a whole-segment prefix of the path is accepted from Vault's answer", () => {
    const answer = (data: Record<string, unknown>) => ({ data });
    assert.deepEqual(
      parseMount(answer({ path: 'secret/', type: 'kv', options: { version: '2' } }), 'secret/a', 'auto'),
      v2,
    );
    assert.deepEqual(parseMount(answer({ path: 'kv/', type: 'generic' }), 'kv/a', 'auto'), v1);
    assert.deepEqual(parseMount(answer({ path: 'kv/', type: 'kv', options: null }), 'kv/a', 'kv2'), {
      path: 'kv/',
      version: 2,
    });
    assert.throws(
      () => parseMount(answer({ path: 'auth/token/', type: 'token' }), 'auth/token/lookup-self', 'kv1'),
      {
        reason: 'InvalidSpec',
        message: /token secrets engine/,
      },
    );
    // OpenBao names an auth mount without its auth/ prefix: refused for its engine all the same.
    assert.throws(
      () => parseMount(answer({ path: 'token/', type: 'token' }), 'auth/token/lookup-self', 'auto'),
      {
        reason: 'InvalidSpec',
      },
    );
    assert.throws(() => parseMount(answer({ path: 'sys/', type: 'system' }), 'sys/health', 'kv2'), {
      reason: 'InvalidSpec',
    });
    for (const path of ['secre/', 'secret', 'secret/../', '../', '', 'secret/a/']) {
      assert.throws(
        () => parseMount(answer({ path, type: 'kv' }), 'secret/a', 'auto'),
        { reason: 'VaultUnavailable' },
        path,
      );
    }
    assert.throws(() => parseMount(undefined, 'secret/a', 'auto'), { reason: 'VaultUnavailable' });
  });
});

class FakeVault implements VaultTransport {
  readonly calls: VaultCall[] = [];
  readonly #answer: (call: VaultCall) => VaultReply;
  constructor(answer: (call: VaultCall) => VaultReply) {
    this.#answer = answer;
  }
  async send(call: VaultCall): Promise<VaultReply> {
    this.calls.push(call);
    return this.#answer(call);
  }
}

function reader(
  answer: (call: VaultCall) => VaultReply,
  engine: 'auto' | 'kv1' | 'kv2' = 'auto',
  clock = new FakeClock(),
) {
  const transport = new FakeVault(answer);
  const credentials: Credentials = {
    method: 'token',
    ownsToken: false,
    login: async () => ({ token: 't', leaseSeconds: 0, renewable: false }),
  };
  // A real node-vault client over the fake: what the reader asks is what node-vault sends.
  const vault = createVaultApi({ address: 'http://vault.test:8200', transport });
  const tokens = new TokenManager({
    vault,
    credentials,
    clock: new FakeClock(),
    random: () => 0.5,
    renewIncrementSeconds: 600,
    nearExpirySeconds: 300,
  });
  return { kv: new KvReader({ vault, tokens, engine, clock }), transport };
}

/** The request path as Vault would see it, decoded: for matching in fakes. */
const route = (call: VaultCall): string =>
  call.path.join('/') + (call.query ? `?${new URLSearchParams(call.query).toString()}` : '');

const mounts = (call: VaultCall): VaultReply | undefined =>
  route(call).startsWith('sys/internal/ui/mounts/secret/')
    ? { status: 200, body: { data: { path: 'secret/', type: 'kv', options: { version: '2' } } } }
    : route(call).startsWith('sys/internal/ui/mounts/kv/')
      ? { status: 200, body: { data: { path: 'kv/', type: 'kv', options: null } } }
      : undefined;

describe('the KV reader', () => {
  test('detects the engine once per mount and reads both versions', async () => {
    const { kv, transport } = reader(
      (call) =>
        mounts(call) ??
        (route(call) === 'secret/data/a' || route(call) === 'secret/data/b'
          ? { status: 200, body: { data: { data: { k: route(call) } } } }
          : route(call) === 'kv/c'
            ? { status: 200, body: { data: { k: 'v1' } } }
            : { status: 404, body: { errors: [] } }),
    );
    assert.deepEqual(await kv.read('secret/a'), { k: 'secret/data/a' });
    assert.deepEqual(await kv.read('secret/b'), { k: 'secret/data/b' });
    assert.deepEqual(await kv.read('kv/c'), { k: 'v1' });
    assert.equal(transport.calls.filter((c) => c.operation === 'mounts').length, 2);
    assert.deepEqual(await kv.resolve('secret/data/b'), {
      path: 'secret/b',
      apiPath: 'secret/data/b',
      mount: 'secret/',
      version: 2,
    });
  });

  test('answers carry reasons: 404 PathNotFound, 403 Forbidden, 503 VaultUnavailable, other engines InvalidSpec', async () => {
    const { kv } = reader((call) =>
      route(call).startsWith('sys/internal/ui/mounts/pki/')
        ? { status: 200, body: { data: { path: 'pki/', type: 'pki' } } }
        : (mounts(call) ?? {
            status: route(call).endsWith('missing') ? 404 : route(call).endsWith('denied') ? 403 : 503,
            body: {},
          }),
    );
    await assert.rejects(kv.read('secret/missing'), { reason: 'PathNotFound' });
    await assert.rejects(kv.read('secret/denied'), { reason: 'Forbidden' });
    await assert.rejects(kv.read('secret/sealed'), { reason: 'VaultUnavailable' });
    await assert.rejects(kv.read('pki/issue/x'), { reason: 'InvalidSpec' });
  });

  test("Vault's own words stay out of the message a tenant sees (status, Event) and go to the operator log", async () => {
    const said = 'invalid request: role "team-b-admin" echoing what it was sent';
    const { kv } = reader((call) =>
      route(call).startsWith('sys/internal/ui/mounts/odd/')
        ? { status: 500, body: { errors: [said] } }
        : (mounts(call) ?? { status: 400, body: { errors: [said] } }),
    );
    const read = await kv.read('secret/db').catch((e: unknown) => e);
    const lookup = await kv.read('odd/db').catch((e: unknown) => e);
    assert.ok(read instanceof ProviderError && lookup instanceof ProviderError);
    assert.deepEqual(
      [read, lookup].map((e) => [e.reason, e.message, e.detail]),
      [
        ['VaultUnavailable', 'Vault answered 400 reading Vault path secret/db', said],
        ['VaultUnavailable', 'Vault answered 500 to a mount lookup for odd/db', said],
      ],
    );
    assert.equal(
      describeError(read),
      `Vault answered 400 reading Vault path secret/db (the backend said: ${said})`,
    );
  });

  test('a forced engine still asks Vault for the mount, and refuses anything that is not KV', async () => {
    const { kv, transport } = reader(
      (call) =>
        route(call) === 'sys/internal/ui/mounts/team/app'
          ? { status: 200, body: { data: { path: 'team/', type: 'kv', options: null } } }
          : route(call) === 'sys/internal/ui/mounts/auth/token/lookup-self'
            ? { status: 200, body: { data: { path: 'auth/token/', type: 'token' } } }
            : { status: 200, body: { data: { data: { k: 'v' } } } },
      'kv2',
    );
    assert.deepEqual(await kv.read('team/app'), { k: 'v' });
    await assert.rejects(kv.read('auth/token/lookup-self'), { reason: 'InvalidSpec' });
    assert.deepEqual(transport.calls.map(route), [
      'sys/internal/ui/mounts/team/app',
      'team/data/app',
      'sys/internal/ui/mounts/auth/token/lookup-self',
    ]);
  });

  test('a pinned version goes in the query, never in the path', async () => {
    const { kv, transport } = reader(
      (call) => mounts(call) ?? { status: 200, body: { data: { data: { k: 'v3' } } } },
    );
    assert.deepEqual(await kv.read('secret/app', 3), { k: 'v3' });
    assert.deepEqual(transport.calls.at(-1)?.path, ['secret', 'data', 'app']);
    assert.deepEqual(transport.calls.at(-1)?.query, { version: '3' });
  });

  test('an unsafe path is refused before any request, mount lookup included', async () => {
    const { kv, transport } = reader(() => ({ status: 200, body: { data: { path: 'kv/', type: 'kv' } } }));
    for (const path of [
      'kv/%2e%2e/auth/token/lookup-self',
      'kv/../auth/token/lookup-self',
      'kv/..\\auth/token/lookup-self',
      'kv/a?x=1',
      'kv/a#b',
      'kv//a',
      'kv/a\u0000',
      'kv',
    ]) {
      await assert.rejects(kv.read(path), { reason: 'InvalidSpec' }, path);
      await assert.rejects(kv.resolve(path), { reason: 'InvalidSpec' }, path);
    }
    assert.equal(transport.calls.length, 0);
  });
});

describe('the secret resolved is the secret read', () => {
  test('a KV v2 secret named data/x: resolved once, read at exactly the path that was resolved and checked', async () => {
    const { kv, transport } = reader(
      (call) => mounts(call) ?? { status: 200, body: { data: { data: { k: route(call) } } } },
    );
    const resolved = await kv.resolve('secret/data/data/x');
    assert.deepEqual(resolved, {
      path: 'secret/data/x',
      apiPath: 'secret/data/data/x',
      mount: 'secret/',
      version: 2,
    });
    // The poller reads the logical path it was given: no second data/ is dropped.
    assert.deepEqual(await kv.read(resolved.path), { k: 'secret/data/data/x' });
    assert.equal(route(transport.calls.at(-1) as VaultCall), resolved.apiPath);
  });

  test("a failed shared mount lookup speaks only for its own path: another path's error never shows another path", async () => {
    const { kv } = reader((call) =>
      route(call) === 'sys/internal/ui/mounts/team/secret-of-a/db'
        ? { status: 400, body: { errors: ['no mount'] } }
        : route(call) === 'sys/internal/ui/mounts/team/b/x'
          ? { status: 200, body: { data: { path: 'team/b/', type: 'kv', options: null } } }
          : { status: 200, body: { data: { v: 1 } } },
    );
    const [a, b] = await Promise.allSettled([kv.resolve('team/secret-of-a/db'), kv.resolve('team/b/x')]);
    assert.equal(a.status, 'rejected');
    assert.deepEqual(b, {
      status: 'fulfilled',
      value: { path: 'team/b/x', apiPath: 'team/b/x', mount: 'team/b/', version: 1 },
    });
  });
});

describe('a remounted engine', () => {
  test('a mount learned a while ago is learned again when a read finds nothing, so a KV v1 remounted as v2 is read right', async () => {
    const clock = new FakeClock();
    let version: '1' | '2' = '1';
    const { kv, transport } = reader(
      (call) => {
        const path = route(call);
        if (path.startsWith('sys/internal/ui/mounts/')) {
          return { status: 200, body: { data: { path: 'kv/', type: 'kv', options: { version } } } };
        }
        if (version === '1' && path === 'kv/app') return { status: 200, body: { data: { v: 'one' } } };
        if (version === '2' && path === 'kv/data/app')
          return { status: 200, body: { data: { data: { v: 'two' } } } };
        return { status: 404, body: { errors: [] } };
      },
      'auto',
      clock,
    );
    assert.deepEqual(await kv.read('kv/app'), { v: 'one' });
    version = '2';
    // Soon after learning it, a miss is only a miss: no lookup per retry.
    await assert.rejects(kv.read('kv/app'), { reason: 'PathNotFound' });
    await assert.rejects(kv.read('kv/app'), { reason: 'PathNotFound' });
    assert.equal(transport.calls.filter((c) => c.operation === 'mounts').length, 1);
    await clock.advance(mountRelearnAfterMs);
    await assert.rejects(kv.read('kv/app'), { reason: 'PathNotFound' });
    assert.deepEqual(await kv.read('kv/app'), { v: 'two' });
    assert.equal(transport.calls.filter((c) => c.operation === 'mounts').length, 2);
  });
});
