import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSecretDefinition } from '../../../src/api/validate.ts';
import { harmlessPaths, hostileDefinitions } from '../../support/hostile-definitions.ts';

const manifest = (spec: unknown) => ({
  apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
  kind: 'SecretDefinition',
  metadata: { name: 'hostile', namespace: 'team-a', uid: 'u-1', generation: 1 },
  spec,
});

describe('validate refuses each hostile definition with exactly one clear problem', () => {
  test('the table holds at least 40 cases', () => {
    assert.ok(hostileDefinitions.length >= 40, String(hostileDefinitions.length));
  });
  for (const hostile of hostileDefinitions) {
    test(hostile.title, () => {
      const result = parseSecretDefinition(manifest(hostile.spec));
      assert.equal(result.valid, false);
      if (result.valid) return;
      assert.equal(result.problems.length, 1, result.problems.join('\n'));
      assert.match(result.problems[0] ?? '', hostile.problem);
    });
  }
});

describe('harmless names stay valid', () => {
  for (const path of harmlessPaths) {
    test(JSON.stringify(path), () => {
      const result = parseSecretDefinition(manifest({ name: 'app', keysMap: { v: { path, key: 'v' } } }));
      assert.equal(result.valid, true, JSON.stringify(result));
    });
  }
});
