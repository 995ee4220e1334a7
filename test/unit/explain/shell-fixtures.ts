// What the tests of explain's shell run against: a definition in team-a, the Secret it wrote, a
// file to explain, and the flags of a connected run.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { definitionsPath, type Answers } from '../../support/explain-stand-ins.ts';

export const definition = {
  apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
  kind: 'SecretDefinition',
  metadata: {
    name: 'app',
    namespace: 'team-a',
    uid: 'uid-live',
    generation: 1,
    resourceVersion: '7',
    creationTimestamp: '2026-01-01T00:00:00Z',
  },
  spec: { name: 'app-secret', keysMap: { password: { path: 'secret/team-a/db', key: 'password' } } },
};

/** The cluster holds `definition` and nothing else in team-a (no Secret yet). */
export const cluster = (extra: Answers = {}): Answers => ({
  [`GET ${definitionsPath}/team-a/secretdefinitions/app`]: { status: 200, body: definition },
  [`GET ${definitionsPath}/team-a/secretdefinitions`]: { status: 200, body: { items: [definition] } },
  ...extra,
});

/** The Secret app-secret as SecretDefinition app (uid-live) wrote it. */
export const secretOfApp = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'app-secret',
    namespace: 'team-a',
    uid: 'secret-uid',
    resourceVersion: '3',
    labels: { 'app.kubernetes.io/managed-by': 'secrets-manager' },
    annotations: { 'secrets-manager.tuenti.io/owner': 'app' },
    ownerReferences: [
      {
        apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
        kind: 'SecretDefinition',
        name: 'app',
        uid: 'uid-live',
        controller: true,
      },
    ],
  },
  type: 'Opaque',
  data: { password: Buffer.from('pw-unit-owned').toString('base64') },
};

export async function fileOf(t: TestContext, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'explain-shell-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'definition.yaml');
  await writeFile(file, text);
  return file;
}

/** The flags of a run with AppRole against `vault` and `kube`. */
export async function connected(kube: { kubeconfig(): Promise<string> }, vault: { address: string }) {
  return [
    `--kubeconfig=${await kube.kubeconfig()}`,
    `--vault.url=${vault.address}`,
    '--vault.role-id=role',
    '--vault.secret-id=secret',
  ];
}

export const approleLogin: Answers = {
  'POST /v1/auth/approle/login': {
    status: 200,
    body: { auth: { client_token: 'hvs.approle-login', lease_duration: 3600, renewable: true } },
  },
};
