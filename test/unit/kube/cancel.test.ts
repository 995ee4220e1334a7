import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kubeDefinitionWriter } from '../../../src/kube/definition-writer.ts';
import { kubeEventRecorder } from '../../../src/kube/events.ts';
import { kubeSecretApi } from '../../../src/kube/secret-api.ts';
import { silentApiserver } from '../../support/silent-apiserver.ts';

test(
  'Secret, status and Event requests are aborted on the wire when the work signal aborts, and refused after',
  { timeout: 10_000 },
  async (t) => {
    let term = new AbortController();
    const received: string[] = [];
    const api = await silentApiserver(
      t,
      (request) => {
        // Never answer: an apiserver behind a half-open connection. The term ends mid-request.
        received.push(`${request.method ?? ''} ${request.url ?? ''}`);
        term.abort(new Error('lost leadership'));
      },
      { signal: () => term.signal },
    );
    const secrets = kubeSecretApi(api, 'secrets-manager');
    const apply = {
      name: 's',
      namespace: 'ns',
      type: 'Opaque',
      labels: {},
      annotations: {},
      data: { k: 'dg==' },
      ownerReferences: [],
    };
    await assert.rejects(secrets.apply(apply, 'uid'), /lost leadership/);
    term = new AbortController();
    await assert.rejects(kubeDefinitionWriter(api).patchStatus('ns', 'd', {}), /lost leadership/);
    term = new AbortController();
    const failures: unknown[] = [];
    await kubeEventRecorder(api, 'c', (error) => failures.push(error)).record(
      { namespace: 'ns', name: 'd', uid: 'u' },
      'Normal',
      'Synced',
      'm',
    );
    assert.equal(failures.length, 1);
    assert.equal(received.length, 3);

    // The term is over: nothing more reaches the apiserver.
    await assert.rejects(secrets.apply(apply, 'uid'), /lost leadership/);
    await assert.rejects(secrets.delete('ns', 's', 'uid'), /lost leadership/);
    assert.equal(received.length, 3);
  },
);
