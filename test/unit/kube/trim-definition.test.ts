import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSecretDefinition } from '../../../src/api/validate.ts';
import { trimDefinition } from '../../../src/kube/trim-definition.ts';

const applied = {
  apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
  kind: 'SecretDefinition',
  metadata: {
    name: 'db',
    namespace: 'team-a',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2026-11-27T10:00:00Z',
    deletionTimestamp: '2026-11-27T11:00:00Z',
    finalizers: ['secrets-manager.tuenti.io/finalizer'],
    labels: { team: 'a' },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"...a whole copy..."}',
      'example.com/owner': 'team-a',
    },
    managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
    ownerReferences: [{ kind: 'Thing', name: 'x', uid: 'o', apiVersion: 'v1' }],
  },
  spec: { name: 'db', keysMap: { p: { path: 'secret/team-a/db', key: 'password' } } },
  status: { observedGeneration: 2, conditions: [] },
};

test('the cache keeps what reconcile reads and drops managedFields and the last-applied copy', () => {
  assert.deepEqual(trimDefinition(applied), {
    apiVersion: applied.apiVersion,
    kind: applied.kind,
    metadata: {
      name: 'db',
      namespace: 'team-a',
      uid: 'u-1',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-11-27T10:00:00Z',
      deletionTimestamp: '2026-11-27T11:00:00Z',
      finalizers: ['secrets-manager.tuenti.io/finalizer'],
      labels: { team: 'a' },
      annotations: { 'example.com/owner': 'team-a' },
    },
    spec: applied.spec,
    status: applied.status,
  });
});

test('a trimmed definition parses to what the whole object parses to, less the last-applied copy', () => {
  const withoutCopy = {
    ...applied,
    metadata: { ...applied.metadata, annotations: { 'example.com/owner': 'team-a' } },
  };
  assert.deepEqual(parseSecretDefinition(trimDefinition(applied)), parseSecretDefinition(withoutCopy));
});

test('with only the last-applied annotation, no annotations are kept', () => {
  const only = {
    ...applied,
    metadata: {
      ...applied.metadata,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    },
  };
  assert.equal((trimDefinition(only)['metadata'] as Record<string, unknown>)['annotations'], undefined);
});
