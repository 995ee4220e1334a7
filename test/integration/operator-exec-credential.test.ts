// Out of cluster against EKS, GKE or AKS, a kubeconfig's user is an exec credential plugin. Here a
// small script plays one (it prints an ExecCredential with the stack's admin token, valid for a
// few seconds) and the operator syncs through it on the real apiserver; the script runs once for
// the whole start, whatever the number of requests at once, and again only when its credential
// has expired.

import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  applyDefinition,
  putKv2,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, testStack, waitFor } from '../support/stack.ts';

const lifetimeSeconds = 10;

test('an exec credential plugin: the operator syncs through it, and runs it again only when its credential expires', async (t) => {
  const { state } = await testStack();
  const ns = await freshNamespace(t);
  const dir = await mkdtemp(join(tmpdir(), 'exec-credential-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const runs = join(dir, 'runs');
  const plugin = join(dir, 'credential.sh');
  // Each run appends the expiry it hands out, so the test knows when the credential is stale.
  await writeFile(
    plugin,
    [
      '#!/bin/sh',
      `expires=$(date -u -d "+${lifetimeSeconds} seconds" +%Y-%m-%dT%H:%M:%SZ)`,
      `echo "$expires" >> "${runs}"`,
      `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "${state.kube.adminToken}" "$expires"`,
    ].join('\n'),
  );
  await chmod(plugin, 0o755);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      'current-context': 'eks-like',
      contexts: [{ name: 'eks-like', context: { cluster: 'stack', user: 'exec-user' } }],
      clusters: [
        { name: 'stack', cluster: { server: state.kube.server, 'certificate-authority': state.kube.caFile } },
      ],
      users: [
        {
          name: 'exec-user',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: plugin,
              interactiveMode: 'Never',
            },
          },
        },
      ],
    }),
  );
  const expiries = async (): Promise<Date[]> =>
    (await readFile(runs, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => new Date(line));

  await putKv2(`secret/${ns}/app`, { v: 'one' });
  const operator = await startOperator(t, {
    kubeconfigFlag: false,
    args: [`--kubeconfig=${kubeconfig}`, `--watch-namespaces=${ns}`],
  });
  await waitReady(operator);
  await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
  await waitForReady(ns, 'app', 'True');
  assert.deepEqual(await secretData(ns, 'app'), { v: 'one' });
  const [first, ...more] = await expiries();
  assert.ok(first, 'the plugin ran');
  assert.deepEqual(more, [], 'lists, watches and writes at start shared one run of the plugin');
  assert.ok(Date.now() < first.getTime(), 'the sync finished within the credential lifetime');
  const connection = operator
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { message?: string; from?: string })
    .find((line) => line.message === 'kubernetes connection');
  assert.equal(connection?.from, `kubeconfig ${kubeconfig}, context eks-like`);

  // Once the credential has expired, the next request runs the plugin again: a change in Vault
  // makes the operator write, and so ask.
  await waitFor(
    'the first credential to expire',
    async () => Date.now() > first.getTime() + 1_000 || undefined,
  );
  await putKv2(`secret/${ns}/app`, { v: 'two' });
  await waitForSecretValue(ns, 'app', 'v', 'two');
  const after = await expiries();
  assert.equal(after.length, 2, 'one more run for the expired credential');
  assert.doesNotMatch(operator.logs(), new RegExp(state.kube.adminToken));
});
