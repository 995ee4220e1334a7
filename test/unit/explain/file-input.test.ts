// Where explain -f reads from: a file or standard input, each at most what the apiserver takes for one object.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileLimitBytes } from '../../../src/explain/definition-source.ts';
import { explainIn, kubeStandIn, kvAnswers, vaultStandIn } from '../../support/explain-stand-ins.ts';
import { approleLogin, cluster, connected, definition, fileOf } from './shell-fixtures.ts';

/** The definition as a file would hold it: no server-set fields. */
const authored = JSON.stringify({
  ...definition,
  metadata: { name: definition.metadata.name, namespace: definition.metadata.namespace },
});

describe('explain -f: what it reads', () => {
  test('-f - reads the definition from standard input, as kubectl does', async (t) => {
    const kube = await kubeStandIn(t, () => cluster());
    const vault = await vaultStandIn(t, () => ({
      ...kvAnswers('team-a/db', { password: 'pw-unit-stdin' }),
      ...approleLogin,
    }));
    const explained = await explainIn(
      [...(await connected(kube, vault)), 'explain', '-f', '-'],
      {},
      authored,
    );
    assert.equal(explained.code, 0, explained.stderr + explained.stdout);
    assert.match(
      explained.stdout,
      /^SecretDefinition team-a\/app \(from standard input, the cluster has a version of it\)$/m,
    );
    assert.match(explained.stdout, /^Ready: +True Synced$/m);
  });

  test('a file or standard input over 1.5 MiB is a usage error naming the limit, before any request', async (t) => {
    const kube = await kubeStandIn(t, () => cluster());
    const vault = await vaultStandIn(t, () => ({ ...kvAnswers('team-a/db', {}), ...approleLogin }));
    const big = `${authored}\n#${'x'.repeat(fileLimitBytes)}\n`;
    const file = await fileOf(t, big);
    const flags = await connected(kube, vault);
    for (const [args, stdin, name] of [
      [['-f', file], '', file],
      [['-f', '-'], big, 'standard input'],
    ] as const) {
      const explained = await explainIn([...flags, 'explain', ...args], {}, stdin);
      assert.equal(explained.code, 2, explained.stderr + explained.stdout);
      assert.equal(
        explained.stderr,
        `secrets-manager explain: ${name} holds more than 1.5 MiB (1572864 bytes), the most the apiserver takes for one object: explain a file with one definition\n`,
      );
    }
    assert.deepEqual(kube.seen, []);
  });

  test('-n that names another namespace than the NAMESPACE/NAME asked for is a usage error (exit 2), before any request', async (t) => {
    const kube = await kubeStandIn(t, () => cluster());
    const vault = await vaultStandIn(t, () => ({ ...kvAnswers('team-a/db', {}), ...approleLogin }));
    const explained = await explainIn([
      ...(await connected(kube, vault)),
      'explain',
      'team-a/app',
      '-n',
      'team-b',
    ]);
    assert.equal(explained.code, 2, explained.stderr + explained.stdout);
    assert.match(explained.stderr, /names namespace team-a, but -n says team-b/);
    assert.deepEqual(kube.seen, []);
  });
});
