import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VaultIdentities, type VaultIdentity } from '../../../../src/providers/vault/identities.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

/** An identity that records what happened to it; `leasesEnd` says until when its issuer holds leases. */
function fake(
  name: string,
  log: string[],
  leasesEnd: { at: number | undefined } = { at: undefined },
): VaultIdentity {
  return {
    tokens: { stop: async () => void log.push(`revoke ${name}`) },
    kv: {},
    issuer: {
      leasesEndAt: () => leasesEnd.at,
      knows: () => leasesEnd.at !== undefined,
      stop: async () => {},
    },
    poller: { stop: () => void log.push(`stop polling ${name}`) },
  } as unknown as VaultIdentity;
}

describe('Vault identities', () => {
  test('operator scope: one identity for every namespace, never released per namespace', async () => {
    const log: string[] = [];
    const shared = fake('operator', log);
    const identities = new VaultIdentities(
      shared,
      () => assert.fail('no per-namespace identity'),
      new FakeClock(),
    );
    assert.equal(identities.for('a'), shared, 'with or without definitions');
    identities.definitionAdded('a');
    assert.equal(await identities.definitionRemoved('a'), false);
    assert.deepEqual(log, []);
    await identities.stop();
    assert.deepEqual(log, ['stop polling operator', 'revoke operator']);
  });

  test('namespace scope: one identity per namespace with definitions, made on first use, revoked with its last definition', async () => {
    const log: string[] = [];
    const made: string[] = [];
    const identities = new VaultIdentities(
      undefined,
      (namespace) => {
        made.push(namespace);
        return fake(namespace, log);
      },
      new FakeClock(),
    );
    assert.throws(() => identities.for('a'), {
      reason: 'VaultUnavailable',
      message: /namespace a has no SecretDefinitions/,
    });
    identities.definitionAdded('a');
    identities.definitionAdded('a');
    identities.definitionAdded('b');
    assert.equal(identities.existing('a'), undefined, 'asking whether one exists makes none');
    const a = identities.for('a');
    assert.equal(identities.for('a'), a);
    assert.notEqual(identities.for('b'), a);
    assert.deepEqual(made, ['a', 'b']);

    assert.equal(await identities.definitionRemoved('a'), false, 'one definition is left in a');
    assert.deepEqual(log, []);
    assert.equal(await identities.definitionRemoved('a'), true);
    assert.deepEqual(log, ['stop polling a', 'revoke a']);
    assert.equal(identities.existing('a'), undefined);
    // A reconcile still running for a's deleted definition cannot bring its identity back.
    assert.throws(() => identities.for('a'), { reason: 'VaultUnavailable' });

    await identities.stop();
    assert.deepEqual(log, ['stop polling a', 'revoke a', 'stop polling b', 'revoke b']);
  });

  test('an identity whose leases live on lingers past its last definition, to renew and revoke them, until they end', async () => {
    const log: string[] = [];
    const clock = new FakeClock();
    const leases: { at: number | undefined } = { at: clock.now() + 60_000 };
    const identities = new VaultIdentities(undefined, (namespace) => fake(namespace, log, leases), clock);
    identities.definitionAdded('a');
    const a = identities.for('a');
    assert.equal(await identities.definitionRemoved('a'), false, 'its token is not revoked yet');
    assert.deepEqual(log, ['stop polling a']);
    assert.equal(identities.existing('a'), undefined, 'it reads nothing more');
    assert.equal(identities.lessor('a'), a, 'a deleted definition revokes its lease with it');
    await identities.leaseEnded('a');
    assert.deepEqual(log, ['stop polling a'], 'a lease is left');

    leases.at = undefined;
    await identities.leaseEnded('a');
    assert.deepEqual(log, ['stop polling a', 'revoke a'], 'the last lease revoked, the token follows');
    assert.throws(() => identities.lessor('a'), { reason: 'VaultUnavailable' });
  });

  test('a lingering identity is released when its last lease ends by itself', async () => {
    const log: string[] = [];
    const clock = new FakeClock();
    const leases: { at: number | undefined } = { at: clock.now() + 60_000 };
    const identities = new VaultIdentities(undefined, (namespace) => fake(namespace, log, leases), clock);
    identities.definitionAdded('a');
    identities.for('a');
    await identities.definitionRemoved('a');
    await clock.advance(59_000);
    assert.deepEqual(log, ['stop polling a']);
    leases.at = undefined;
    await clock.advance(3_000);
    assert.deepEqual(log, ['stop polling a', 'revoke a']);
    await identities.stop();
    assert.deepEqual(log, ['stop polling a', 'revoke a'], 'released once');
  });
});
