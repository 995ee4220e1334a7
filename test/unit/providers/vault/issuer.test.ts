import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VaultIssuer, type IdentityTokenStore } from '../../../../src/providers/vault/issuer.ts';
import type { TokenManager } from '../../../../src/providers/vault/token-manager.ts';
import type { VaultApi } from '../../../../src/providers/vault/vault-api.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

const hour = 3_600_000;

/** node-vault's error for an answer that is not 2xx. */
function answered(statusCode: number, errors: string[] = []): Error {
  return Object.assign(new Error(`Status ${statusCode}`), { response: { statusCode, body: { errors } } });
}

/** A token manager whose login generation and token expiry the test moves. */
class FakeTokens {
  current = { generation: 1, expiresAt: 0 };
  token = async (): Promise<string> => `token-${this.current.generation}`;
  generation = (): number => this.current.generation;
  expiresAt = (): number | undefined => this.current.expiresAt;
  afterForbidden = async (): Promise<string | undefined> => undefined;
}

/** The kept token's side of Vault: what lookup-self and renew-self answer for it. */
interface KeptTokenVault {
  ttlSeconds: number;
  /** What each renew-self grants. */
  renewGrantSeconds: number;
}

function harness(
  store?: IdentityTokenStore,
  clock = new FakeClock(),
  kept: KeptTokenVault = { ttlSeconds: 600, renewGrantSeconds: 600 },
) {
  const tokens = new FakeTokens();
  tokens.current.expiresAt = clock.now() + hour;
  const calls: string[] = [];
  let next: () => unknown = () => ({});
  const vault = {
    read: async (path: readonly string[], options: { token: string; operation: string }) => {
      calls.push(`GET ${path.join('/')} ${options.operation} ${options.token}`);
      return next();
    },
    write: async (path: readonly string[], body: Record<string, unknown>, options: { token: string }) => {
      calls.push(`POST ${path.join('/')} ${JSON.stringify(body)} ${options.token}`);
      return next();
    },
    renewLease: async (token: string, id: string, increment: number) => {
      calls.push(`renew ${id} ${increment} ${token}`);
      return next();
    },
    revokeLease: async (token: string, id: string) => {
      calls.push(`revoke ${id} ${token}`);
      await next();
    },
    lookupSelf: async (token: string) => {
      calls.push(`lookup-self ${token}`);
      return { data: { ttl: kept.ttlSeconds, renewable: true } };
    },
    renewSelf: async (token: string, increment: string) => {
      calls.push(`renew-self ${token} ${increment}`);
      return { auth: { lease_duration: kept.renewGrantSeconds } };
    },
    revokeSelf: async (token: string) => void calls.push(`revoke-self ${token}`),
  } as unknown as VaultApi;
  const issuer = new VaultIssuer({
    vault,
    tokens: tokens as unknown as TokenManager,
    clock,
    renewIncrementSeconds: 600,
    random: () => 0.5,
    ...(store ? { store } : {}),
  });
  return { clock, tokens, calls, issuer, answer: (fn: () => unknown) => (next = fn) };
}

const creds = {
  lease_id: 'database/creds/app/abc',
  lease_duration: 3600,
  renewable: true,
  data: { username: 'v-app', password: 'pw' },
};

describe('issuing with one Vault identity', () => {
  test('a dynamic read answers the data and its lease; the identity then holds a lease', async () => {
    const h = harness();
    h.answer(() => creds);
    const issued = await h.issuer.issue(
      { engine: 'dynamic', path: 'database/creds/app', method: 'GET' },
      'team-a/app',
    );
    assert.deepEqual(issued, {
      data: { username: 'v-app', password: 'pw' },
      lease: { id: 'database/creds/app/abc', durationSeconds: 3600, renewable: true },
    });
    assert.deepEqual(h.calls, ['GET database/creds/app issue token-1']);
    assert.equal(h.issuer.holdsLeases(), true);
    assert.equal(h.issuer.leasesEndAt(), h.clock.now() + hour);
    await h.clock.advance(hour);
    assert.equal(h.issuer.holdsLeases(), false, 'an ended lease holds nothing');
  });

  test('a PKI issue POSTs the body and carries no lease', async () => {
    const h = harness();
    h.answer(() => ({ data: { certificate: 'c' }, lease_id: '', lease_duration: 0, renewable: false }));
    const issued = await h.issuer.issue(
      {
        engine: 'pki',
        path: 'pki/issue/web',
        method: 'POST',
        body: { common_name: 'web' },
      },
      'team-a/web',
    );
    assert.deepEqual(issued, { data: { certificate: 'c' } });
    assert.deepEqual(h.calls, ['POST pki/issue/web {"common_name":"web"} token-1']);
    assert.equal(h.issuer.holdsLeases(), false);
  });

  test('what Vault refuses is named, and a malformed lease id or a path that escapes is refused', async () => {
    const h = harness();
    const cases: [unknown, string, string][] = [
      [answered(403), 'Forbidden', 'the Vault policy does not allow issuing at database/creds/app'],
      [
        answered(404),
        'IssueFailed',
        'nothing at Vault path database/creds/app issues certificates or credentials (no such role or engine)',
      ],
      [
        answered(503),
        'VaultUnavailable',
        'Vault is sealed or unavailable (503) issuing at database/creds/app',
      ],
    ];
    for (const [error, reason, message] of cases) {
      h.answer(() => {
        throw error;
      });
      await assert.rejects(
        h.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app'),
        {
          reason,
          message,
        },
      );
    }
    h.answer(() => ({ ...creds, lease_id: '../sys/x' }));
    await assert.rejects(
      h.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app'),
      {
        reason: 'IssueFailed',
        message: "Vault's answer at database/creds/app has a malformed lease id",
      },
    );
    h.answer(() => ({ lease_id: 'x' }));
    await assert.rejects(
      h.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app'),
      {
        reason: 'IssueFailed',
      },
    );
    await assert.rejects(
      h.issuer.issue({ engine: 'dynamic', path: 'database/../sys/raw', method: 'GET' }, 'team-a/app'),
      {
        reason: 'InvalidSpec',
      },
    );
    assert.equal(h.calls.filter((c) => c.includes('sys')).length, 0, 'nothing sent for a path that escapes');
  });

  test('a renewal answers the grant; a lease Vault no longer knows is LeaseExpired', async () => {
    const h = harness();
    h.answer(() => creds);
    await h.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app');
    h.answer(() => ({ lease_id: creds.lease_id, lease_duration: 1800, renewable: true }));
    assert.deepEqual(await h.issuer.renewLease(creds.lease_id, 3600), {
      durationSeconds: 1800,
      renewable: true,
    });
    h.answer(() => {
      throw answered(400, ['lease not found']);
    });
    await assert.rejects(h.issuer.renewLease(creds.lease_id, 3600), { reason: 'LeaseExpired' });
    assert.equal(h.issuer.holdsLeases(), false);
    h.answer(() => {
      throw answered(403);
    });
    await assert.rejects(h.issuer.renewLease(creds.lease_id, 3600), {
      reason: 'Forbidden',
      message: 'the Vault policy does not allow renewing leases (sys/leases/renew, update)',
    });
  });

  test('while the token that issued a lease is the current one, renewals are as Vault grants them', async () => {
    const h = harness();
    h.answer(() => creds);
    await h.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app');
    // The token has ten minutes left (renewed by 600s at a time); the lease is renewed for an hour.
    h.tokens.current.expiresAt = h.clock.now() + 600_000;
    h.answer(() => ({ lease_id: creds.lease_id, lease_duration: 3600, renewable: true }));
    assert.deepEqual(await h.issuer.renewLease(creds.lease_id, 3600), {
      durationSeconds: 3600,
      renewable: true,
    });
    assert.equal(
      h.issuer.leaseEndsBy(creds.lease_id),
      undefined,
      'its token is renewed as long as the operator runs',
    );
  });

  test('once the token that issued a lease is replaced by a new login, the lease ends with it: its definition is named, and renewals go no further', async () => {
    const h = harness();
    h.answer(() => creds);
    await h.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app');
    const oldTokenEnds = h.tokens.current.expiresAt;
    assert.deepEqual(h.issuer.tokenReplaced(), [], 'no new login yet');
    h.tokens.current = { generation: 2, expiresAt: h.clock.now() + 10 * hour };
    assert.deepEqual(h.issuer.tokenReplaced(), ['team-a/app']);
    assert.equal(h.issuer.leaseEndsBy(creds.lease_id), oldTokenEnds);
    await h.clock.advance(hour / 2);
    h.answer(() => ({ lease_id: creds.lease_id, lease_duration: 3600, renewable: true }));
    const grant = await h.issuer.renewLease(creds.lease_id, 3600);
    assert.equal(grant.durationSeconds, Math.floor((oldTokenEnds - h.clock.now()) / 1000));
    assert.deepEqual(h.calls.at(-1), 'renew database/creds/app/abc 3600 token-2');
  });

  test('a revocation of a lease Vault no longer knows is done; a refusal is named', async () => {
    const h = harness();
    h.answer(() => {
      throw answered(400, ['invalid lease']);
    });
    await h.issuer.revokeLease('database/creds/app/gone');
    h.answer(() => {
      throw answered(403);
    });
    await assert.rejects(h.issuer.revokeLease('database/creds/app/x'), {
      reason: 'Forbidden',
      message: 'the Vault policy does not allow revoking leases (sys/leases/revoke, update)',
    });
  });

  test('a lease of an earlier process is taken up: its token is not ours to keep, and its end is estimated from the renewal TTL', async () => {
    const h = harness();
    await h.issuer.adopt('database/creds/app/old', h.clock.now() + 5 * hour, 'team-a/app');
    // A quarter of the shorter of a fresh token's TTL (1h) and what a renewal gives (600s).
    assert.equal(h.issuer.leaseEndsBy('database/creds/app/old'), h.clock.now() + 150_000);
    assert.equal(h.issuer.holdsLeases(), false, 'no token of this process is its parent');
    assert.equal(h.issuer.knows('database/creds/app/old'), true);
    assert.equal(h.issuer.leasesEndAt(), h.clock.now() + 5 * hour, 'but this identity renews and revokes it');
    h.answer(() => ({ lease_duration: 3600, renewable: true }));
    const grant = await h.issuer.renewLease('database/creds/app/old', 3600);
    assert.equal(grant.durationSeconds, 150, 'no further than the estimate');
    assert.deepEqual(h.issuer.tokenReplaced(), [], 'a new login of ours does not concern it');

    h.tokens.current.expiresAt = 0;
    await h.issuer.adopt('database/creds/app/other', h.clock.now() + hour, 'team-a/other');
    assert.equal(h.issuer.leaseEndsBy('database/creds/app/other'), undefined, 'tokens that never expire');
  });

  test('with a token store: the token that issued leases is kept once per login; after a restart it is renewed while they live, then revoked', async () => {
    const stored: string[] = [];
    const store: IdentityTokenStore = {
      read: async () => stored.at(-1),
      keep: async (token) => void stored.push(token),
      forget: async () => void stored.push('(forgotten)'),
    };
    const before = harness(store);
    before.answer(() => creds);
    await before.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app');
    await before.issuer.issue({ engine: 'dynamic', path: 'database/creds/app', method: 'GET' }, 'team-a/app');
    assert.deepEqual(stored, ['token-1'], 'kept once for the login that issued');

    // The next process: its own login is token-1 too in this fake, so the kept one is named apart.
    stored.push('kept-token');
    const after = harness(store, before.clock);
    await after.issuer.adopt(creds.lease_id, after.clock.now() + 5 * hour, 'team-a/app');
    assert.deepEqual(after.calls, ['lookup-self kept-token']);
    assert.equal(
      after.issuer.leaseEndsBy(creds.lease_id),
      undefined,
      'renewed for the full increment: no end in sight',
    );
    assert.equal(after.issuer.holdsLeases(), false, 'this process need not keep its own token for it');
    await after.clock.advance(400_000);
    assert.deepEqual(after.calls.at(-1), 'renew-self kept-token 600s');
    after.answer(() => ({ lease_duration: 3600, renewable: true }));
    assert.equal(
      (await after.issuer.renewLease(creds.lease_id, 3600)).durationSeconds,
      3600,
      'uncapped while kept alive',
    );

    // Its lease is revoked: at the next renewal time the kept token is revoked instead.
    after.answer(() => ({}));
    await after.issuer.revokeLease(creds.lease_id);
    await after.clock.advance(600_000);
    assert.deepEqual(after.calls.at(-1), 'revoke-self kept-token');
    assert.equal(stored.at(-1), '(forgotten)');
  });

  test('a kept token near its max TTL gives its leases an end, so they are replaced before it', async () => {
    const store: IdentityTokenStore = {
      read: async () => 'kept-token',
      keep: async () => {},
      forget: async () => {},
    };
    const h = harness(store, new FakeClock(), { ttlSeconds: 600, renewGrantSeconds: 120 });
    await h.issuer.adopt(creds.lease_id, h.clock.now() + 5 * hour, 'team-a/app');
    await h.clock.advance(400_000);
    assert.equal(h.issuer.leaseEndsBy(creds.lease_id), h.clock.now() + 120_000);
  });
});
