import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VaultIdentities, type VaultIdentity } from '../../../../src/providers/vault/identities.ts';

/** An identity that records what happened to it. */
function fake(name: string, log: string[]): VaultIdentity {
  return {
    tokens: { stop: async () => void log.push(`revoke ${name}`) },
    kv: {},
    poller: { stop: () => void log.push(`stop polling ${name}`) },
  } as unknown as VaultIdentity;
}

describe('Vault identities', () => {
  test('operator scope: one identity for every namespace, never released per namespace', async () => {
    const log: string[] = [];
    const shared = fake('operator', log);
    const identities = new VaultIdentities(shared, () => assert.fail('no per-namespace identity'));
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
    const identities = new VaultIdentities(undefined, (namespace) => {
      made.push(namespace);
      return fake(namespace, log);
    });
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
});
