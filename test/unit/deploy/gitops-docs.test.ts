// docs/gitops.md tells Argo CD and Flux which field of a pod template to leave to the operator:
// each setting there must name exactly the annotation that the restart patch writes, in the
// spelling of its own syntax (a jq path, a JSON pointer with `/` written `~1`).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KubeApi } from '../../../src/kube/kube-api.ts';
import { restartWorkload } from '../../../src/kube/restart-workload.ts';
import { workloadKinds, type WorkloadKind } from '../../../src/kube/workload.ts';

const doc = join(import.meta.dirname, '..', '..', '..', 'docs', 'gitops.md');
const templateAnnotations = '/spec/template/metadata/annotations/';

/** The pod-template annotations the operator's restart of a `kind` patches. */
async function annotationsWritten(kind: WorkloadKind): Promise<string[]> {
  let body: unknown;
  const patch = (request: { body: unknown }): Promise<unknown> => {
    body = request.body;
    return Promise.resolve({ metadata: { name: 'app', namespace: 'team', resourceVersion: '2' }, spec: {} });
  };
  const api = {
    apps: {
      patchNamespacedDeployment: patch,
      patchNamespacedStatefulSet: patch,
      patchNamespacedDaemonSet: patch,
    },
  } as unknown as KubeApi;
  await restartWorkload(api, { kind, namespace: 'team', name: 'app', resourceVersion: '1' }, { db: 'id' });
  const annotations = (body as { spec: { template: { metadata: { annotations: object } } } }).spec.template
    .metadata.annotations;
  return Object.keys(annotations);
}

/** Every annotation a jq path or JSON pointer of the doc names below a pod template. */
function annotationsNamed(text: string): { jq: string[]; pointers: string[] } {
  const jq = [...text.matchAll(/\.spec\.template\.metadata\.annotations\."([^"]+)"/g)].map((m) => m[1] ?? '');
  const pointers = [...text.matchAll(/\/spec\/template\/metadata\/annotations\/([^\s'"]+)/g)].map((m) =>
    (m[1] ?? '').replaceAll('~1', '/').replaceAll('~0', '~'),
  );
  return { jq, pointers };
}

test('the GitOps settings name the annotation the restart patch writes, for every kind it restarts', async () => {
  const text = await readFile(doc, 'utf8');
  const { jq, pointers } = annotationsNamed(text);
  for (const kind of workloadKinds) {
    const written = await annotationsWritten(kind);
    assert.equal(written.length, 1, `${kind}: one annotation per restart`);
    const [annotation] = written;
    assert.ok(jq.includes(annotation ?? ''), `${kind}: Argo CD's jq path names ${annotation}`);
    assert.ok(pointers.includes(annotation ?? ''), `${kind}: the JSON pointers name ${annotation}`);
    // Argo CD's argocd-cm entry and Flux's ignore rule are per kind.
    assert.match(text, new RegExp(`ignoreDifferences\\.apps_${kind}:`), `Argo CD: an entry for ${kind}`);
    assert.match(text, new RegExp(`kind: ${kind}\\n`), `an entry for ${kind}`);
  }
  // Nothing else: an annotation named in the doc that the operator does not write is a stale doc.
  const written = new Set((await Promise.all(workloadKinds.map(annotationsWritten))).flat());
  for (const named of [...jq, ...pointers])
    assert.ok(written.has(named), `the doc names ${named}, never written`);
  assert.ok(jq.length >= 3 && pointers.length >= 4, 'the doc has its Argo CD and Flux settings');
  assert.ok(text.includes(templateAnnotations), 'pointers below the pod template');
});
