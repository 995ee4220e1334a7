import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Credentials, IssuedToken } from '../../../../src/providers/vault/auth.ts';
import { ProviderError } from '../../../../src/providers/errors.ts';
import { TokenManager } from '../../../../src/providers/vault/token-manager.ts';
import type { VaultCall, VaultReply, VaultTransport } from '../../../../src/providers/vault/transport.ts';
import { createVaultApi } from '../../../../src/providers/vault/vault-api.ts';
import { FakeClock, nextTurn } from '../../../support/fake-clock.ts';

class FakeVault implements VaultTransport {
  readonly calls: VaultCall[] = [];
  renewLease = 30;
  lookupStatus = 200;
  async send(call: VaultCall): Promise<VaultReply> {
    this.calls.push(call);
    if (call.path.join('/') === 'auth/token/renew-self')
      return { status: 200, body: { auth: { lease_duration: this.renewLease } } };
    if (call.path.join('/') === 'auth/token/lookup-self') return { status: this.lookupStatus, body: {} };
    return { status: 204, body: undefined };
  }
  count(path: string): number {
    return this.calls.filter((c) => c.path.join('/') === path).length;
  }
}

function credentials(
  lease = 30,
  renewable = true,
  ownsToken = true,
): Credentials & { logins: number; fail: boolean } {
  const creds = {
    method: ownsToken ? 'approle' : 'token',
    ownsToken,
    logins: 0,
    fail: false,
    async login(): Promise<IssuedToken> {
      creds.logins += 1;
      await nextTurn();
      if (creds.fail) throw new ProviderError('AuthenticationFailed', 'refused');
      return { token: `token-${creds.logins}`, leaseSeconds: lease, renewable };
    },
  };
  return creds;
}

function manager(clock: FakeClock, vault: FakeVault, creds: Credentials) {
  return new TokenManager({
    vault: createVaultApi({ address: 'http://vault.test:8200', transport: vault }),
    credentials: creds,
    clock,
    random: () => 0.5,
    renewIncrementSeconds: 600,
    nearExpirySeconds: 300,
  });
}

describe('the token manager', () => {
  test('concurrent callers share one login', async () => {
    const clock = new FakeClock();
    const creds = credentials();
    const tokens = manager(clock, new FakeVault(), creds);
    const all = await Promise.all(Array.from({ length: 10 }, () => tokens.token()));
    assert.deepEqual(new Set(all), new Set(['token-1']));
    assert.equal(creds.logins, 1);
  });

  test('renews at about two thirds of the TTL, not before', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    const tokens = manager(clock, vault, credentials(30));
    await tokens.token();
    await clock.advance(18_000);
    assert.equal(vault.count('auth/token/renew-self'), 0);
    await clock.advance(4_000);
    assert.equal(vault.count('auth/token/renew-self'), 1);
    assert.equal(vault.calls.at(-1)?.token, 'token-1');
  });

  test('a renewal capped near the max TTL leads to a new login, and the old token is revoked', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    const creds = credentials(30);
    const tokens = manager(clock, vault, creds);
    await tokens.token();
    vault.renewLease = 5; // less than a third of the first 30s lease
    await clock.advance(21_000);
    assert.equal(creds.logins, 2);
    assert.equal(await tokens.token(), 'token-2');
    const revoke = vault.calls.find((c) => c.path.join('/') === 'auth/token/revoke-self');
    assert.equal(revoke?.token, 'token-1');
  });

  test('a token that is not renewable is replaced by a login instead', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    const creds = credentials(30, false);
    const tokens = manager(clock, vault, creds);
    await tokens.token();
    await clock.advance(21_000);
    assert.equal(vault.count('auth/token/renew-self'), 0);
    assert.equal(creds.logins, 2);
  });

  test('a 403 with a valid token is a policy denial: one lookup for many, no login', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    const creds = credentials();
    const tokens = manager(clock, vault, creds);
    const token = await tokens.token();
    await clock.advance(10_000);
    const answers = await Promise.all(Array.from({ length: 5 }, () => tokens.afterForbidden(token)));
    assert.deepEqual(answers, [undefined, undefined, undefined, undefined, undefined]);
    assert.equal(vault.count('auth/token/lookup-self'), 1);
    assert.equal(creds.logins, 1);
  });

  test('a 403 with a revoked token leads to one new login', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    const creds = credentials();
    const tokens = manager(clock, vault, creds);
    const token = await tokens.token();
    await clock.advance(10_000);
    vault.lookupStatus = 403;
    const answers = await Promise.all([tokens.afterForbidden(token), tokens.afterForbidden(token)]);
    assert.deepEqual(answers, ['token-2', 'token-2']);
    assert.equal(creds.logins, 2);
  });

  test('after a failed login, callers get the same error until the backoff has passed', async () => {
    const clock = new FakeClock();
    const creds = credentials();
    creds.fail = true;
    const tokens = manager(clock, new FakeVault(), creds);
    await assert.rejects(tokens.token(), /refused/);
    await assert.rejects(tokens.token(), /refused/);
    assert.equal(creds.logins, 1);
    creds.fail = false;
    await clock.advance(2_000);
    assert.equal(await tokens.token(), 'token-2');
  });

  test('stop revokes the token and renews no more', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    const tokens = manager(clock, vault, credentials(30));
    await tokens.token();
    await tokens.stop();
    assert.equal(vault.count('auth/token/revoke-self'), 1);
    await clock.advance(60_000);
    assert.equal(vault.count('auth/token/renew-self'), 0);
    assert.equal(tokens.hasValidToken(), false);
  });

  test('a token given outright (token credentials) is never revoked: not at stop, not when replaced', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    vault.renewLease = 1;
    const tokens = manager(clock, vault, credentials(30, true, false));
    await tokens.token();
    // The renewal is capped: a new "login", which here hands out another token (a rotated file).
    await clock.advance(25_000);
    assert.equal(await tokens.token(), 'token-2');
    await tokens.stop();
    assert.equal(vault.count('auth/token/revoke-self'), 0);
    assert.equal(tokens.hasValidToken(), false);
  });

  test('a login that completes after stop is revoked at once, and no token is handed out after stop', async () => {
    const clock = new FakeClock();
    const vault = new FakeVault();
    const tokens = manager(clock, vault, credentials(30));
    const pending = tokens.token();
    await tokens.stop();
    await assert.rejects(pending, { reason: 'VaultUnavailable', message: /no longer in use/ });
    const revoked = vault.calls.filter((c) => c.path.join('/') === 'auth/token/revoke-self');
    assert.deepEqual(
      revoked.map((c) => c.token),
      ['token-1'],
    );
    await assert.rejects(tokens.token(), { message: /no longer in use/ });
    await clock.advance(60_000);
    assert.equal(vault.count('auth/token/renew-self'), 0);
  });
});
