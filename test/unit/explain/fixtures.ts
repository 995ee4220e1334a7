// What the explain unit tests build their inputs from: a definition, a read path, a live Secret.

import type { SecretDefinition, SecretDefinitionSpec } from '../../../src/api/types.ts';
import { inThreadRenderer } from '../../../src/controller/template.ts';
import type { ExplainInputs, SourceOutcome } from '../../../src/explain/inputs.ts';
import { valueHash, type LiveSecret } from '../../../src/kube/live-secret.ts';

export const password = 'hunter2-explain-unit';
export const b64 = (text: string): string => Buffer.from(text).toString('base64');

export function definition(spec: Partial<SecretDefinitionSpec> = {}): SecretDefinition {
  return {
    metadata: {
      ...{ name: 'app', namespace: 'team-a', uid: 'uid-1', generation: 1, resourceVersion: '1' },
      ...{ labels: {}, annotations: {}, finalizers: [], creationTimestamp: '2026-01-01T00:00:00Z' },
    },
    spec: {
      name: 'app-secret',
      type: 'Opaque',
      keysMap: { password: { path: 'secret/app/db', key: 'password', encoding: 'text' } },
      dataFrom: [],
      deletionPolicy: 'Delete',
      rolloutRestartTargets: [],
      ...spec,
    },
    status: {},
  };
}

export const where = {
  path: 'secret/app/db',
  apiPath: 'secret/data/app/db',
  mount: 'secret/',
  version: 2 as const,
};

export function found(data: Record<string, unknown>, path = 'secret/app/db'): SourceOutcome {
  return { path, mayAllow: true, resolved: { ok: true, where, allowed: true }, read: { ok: true, data } };
}

export function live(data: Record<string, string>, overrides: Partial<LiveSecret> = {}): LiveSecret {
  return {
    ...{ name: 'app-secret', namespace: 'team-a', uid: 's-1', resourceVersion: '5', type: 'Opaque' },
    labels: { 'app.kubernetes.io/managed-by': 'secrets-manager' },
    annotations: { 'secrets-manager.tuenti.io/owner': 'app' },
    ownerReferences: [
      {
        apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
        kind: 'SecretDefinition',
        name: 'app',
        uid: 'uid-1',
        controller: true,
      },
    ],
    dataHashes: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, valueHash(b64(v))])),
    applied: {
      dataKeys: new Set(Object.keys(data)),
      labels: new Set(['app.kubernetes.io/managed-by']),
      annotations: new Set(['secrets-manager.tuenti.io/owner']),
      ownerReferenceUids: new Set(['uid-1']),
    },
    createdFields: false,
    ...overrides,
  };
}

export async function inputs(overrides: Partial<ExplainInputs> = {}): Promise<ExplainInputs> {
  return {
    definition: definition(),
    origin: { kind: 'cluster' },
    identity: {
      kubernetes: '/home/me/.kube/config, context dev, user me',
      backend: { method: 'approle', scope: 'operator' },
    },
    backend: 'vault',
    policy: { file: '/etc/policy.yaml', rules: 1 },
    watched: true,
    defaultRefreshMs: 60_000,
    sources: [found({ password })],
    live: undefined,
    rivals: [],
    rollout: { enabled: false },
    templates: await inThreadRenderer(),
    ...overrides,
  };
}
