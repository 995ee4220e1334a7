import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Credentials } from '../../../src/vault/auth.ts';
import { KvReader, kvApiPath } from '../../../src/vault/kv.ts';
import { TokenManager } from '../../../src/vault/token-manager.ts';
import type { VaultCall, VaultReply, VaultTransport } from '../../../src/vault/transport.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const v2 = { path: 'secret/', version: 2 } as const;
const v1 = { path: 'kv/', version: 1 } as const;

test('KV v2 paths get data/ after the mount unless it is there; KV v1 paths stay as written', () => {
  assert.equal(kvApiPath(v2, 'secret/app/db'), 'secret/data/app/db');
  assert.equal(kvApiPath(v2, 'secret/data/app/db'), 'secret/data/app/db');
  assert.equal(kvApiPath(v2, 'secret/app/db', 3), 'secret/data/app/db?version=3');
  assert.equal(kvApiPath(v1, 'kv/app/db'), 'kv/app/db');
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

function reader(answer: (call: VaultCall) => VaultReply, engine: 'auto' | 'kv1' | 'kv2' = 'auto') {
  const transport = new FakeVault(answer);
  const credentials: Credentials = {
    method: 'token',
    login: async () => ({ token: 't', leaseSeconds: 0, renewable: false }),
  };
  const tokens = new TokenManager({
    transport,
    credentials,
    clock: new FakeClock(),
    random: () => 0.5,
    renewIncrementSeconds: 600,
    nearExpirySeconds: 300,
  });
  return { kv: new KvReader({ transport, tokens, engine }), transport };
}

const mounts = (call: VaultCall): VaultReply | undefined =>
  call.path.startsWith('sys/internal/ui/mounts/secret/')
    ? { status: 200, body: { data: { path: 'secret/', type: 'kv', options: { version: '2' } } } }
    : call.path.startsWith('sys/internal/ui/mounts/kv/')
      ? { status: 200, body: { data: { path: 'kv/', type: 'kv', options: null } } }
      : undefined;

describe('the KV reader', () => {
  test('detects the engine once per mount and reads both versions', async () => {
    const { kv, transport } = reader(
      (call) =>
        mounts(call) ??
        (call.path === 'secret/data/a' || call.path === 'secret/data/b'
          ? { status: 200, body: { data: { data: { k: call.path } } } }
          : call.path === 'kv/c'
            ? { status: 200, body: { data: { k: 'v1' } } }
            : { status: 404, body: { errors: [] } }),
    );
    assert.deepEqual(await kv.read('secret/a'), { k: 'secret/data/a' });
    assert.deepEqual(await kv.read('secret/data/b'), { k: 'secret/data/b' });
    assert.deepEqual(await kv.read('kv/c'), { k: 'v1' });
    assert.equal(transport.calls.filter((c) => c.operation === 'mounts').length, 2);
    assert.equal(await kv.canonicalPath('secret/data/b'), 'secret/b');
  });

  test('answers carry reasons: 404 PathNotFound, 403 Forbidden, 503 VaultUnavailable, other engines InvalidSpec', async () => {
    const { kv } = reader((call) =>
      call.path.startsWith('sys/internal/ui/mounts/pki/')
        ? { status: 200, body: { data: { path: 'pki/', type: 'pki' } } }
        : (mounts(call) ?? {
            status: call.path.endsWith('missing') ? 404 : call.path.endsWith('denied') ? 403 : 503,
            body: {},
          }),
    );
    await assert.rejects(kv.read('secret/missing'), { reason: 'PathNotFound' });
    await assert.rejects(kv.read('secret/denied'), { reason: 'Forbidden' });
    await assert.rejects(kv.read('secret/sealed'), { reason: 'VaultUnavailable' });
    await assert.rejects(kv.read('pki/issue/x'), { reason: 'InvalidSpec' });
  });

  test('a forced engine asks for no mount and takes the first segment as the mount', async () => {
    const { kv, transport } = reader(() => ({ status: 200, body: { data: { data: { k: 'v' } } } }), 'kv2');
    assert.deepEqual(await kv.read('team/app'), { k: 'v' });
    assert.deepEqual(
      transport.calls.map((c) => c.path),
      ['team/data/app'],
    );
  });
});
