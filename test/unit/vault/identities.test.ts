import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VaultIdentities, type VaultIdentity } from '../../../src/vault/identities.ts';

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
    assert.equal(identities.for('a'), shared);
    assert.equal(identities.existing('b'), shared);
    await identities.release('a');
    assert.deepEqual(log, []);
    await identities.stop();
    assert.deepEqual(log, ['stop polling operator', 'revoke operator']);
  });

  test('namespace scope: one identity per namespace, made on first use, revoked when released', async () => {
    const log: string[] = [];
    const made: string[] = [];
    const identities = new VaultIdentities(undefined, (namespace) => {
      made.push(namespace);
      return fake(namespace, log);
    });
    assert.equal(identities.existing('a'), undefined, 'asking whether one exists makes none');
    const a = identities.for('a');
    assert.equal(identities.for('a'), a);
    assert.notEqual(identities.for('b'), a);
    assert.deepEqual(made, ['a', 'b']);
    await identities.release('a');
    assert.deepEqual(log, ['stop polling a', 'revoke a']);
    assert.equal(identities.existing('a'), undefined);
    assert.equal(identities.namespaces, 1);
    await identities.stop();
    assert.deepEqual(log, ['stop polling a', 'revoke a', 'stop polling b', 'revoke b']);
    assert.equal(identities.namespaces, 0);
  });
});
