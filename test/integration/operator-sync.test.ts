// The operator on the real stack: SecretDefinitions become Secrets, and the Secrets follow Vault.

import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  applyDefinition,
  deleteDefinition,
  putKv1,
  putKv2,
  readDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { metricSum } from '../support/metrics.ts';
import { freshNamespace, kubectl, testStack, waitFor } from '../support/stack.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('syncing', () => {
  test('KV v2 with and without data/, KV v1, dataFrom, base64 and non-string values land in one Secret', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/db`, { username: 'app', password: 'p@ss', port: 5432, opts: { tls: true } });
    await putKv1(`kv/${ns}/common`, { region: 'eu', cert: b64('CERT-BYTES') });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);

    await applyDefinition(ns, 'app', {
      name: 'app-secret',
      keysMap: {
        user: { path: `secret/data/${ns}/db`, key: 'username' },
        pass: { path: `secret/${ns}/db`, key: 'password' },
        port: { path: `secret/${ns}/db`, key: 'port' },
        opts: { path: `secret/${ns}/db`, key: 'opts' },
        region: { path: `kv/${ns}/common`, key: 'region' },
        cert: { path: `kv/${ns}/common`, key: 'cert', encoding: 'base64' },
      },
      dataFrom: [{ path: `kv/${ns}/common` }],
    });

    await waitForReady(ns, 'app', 'True', 'Synced');
    assert.deepEqual(await secretData(ns, 'app-secret'), {
      user: 'app',
      pass: 'p@ss',
      port: '5432',
      opts: '{"tls":true}',
      region: 'eu',
      cert: 'CERT-BYTES',
    });
    const status = (await readDefinition(ns, 'app')).status;
    assert.equal(status?.secretName, 'app-secret');
    assert.equal(status?.observedGeneration, 1);
  });

  test('a kubernetes.io/tls Secret is written with its type', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/tls`, { crt: 'CRT', key: 'KEY' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'tls', {
      name: 'tls',
      type: 'kubernetes.io/tls',
      keysMap: {
        'tls.crt': { path: `secret/${ns}/tls`, key: 'crt' },
        'tls.key': { path: `secret/${ns}/tls`, key: 'key' },
      },
    });
    await waitForReady(ns, 'tls', 'True');
    assert.equal(
      (await kubectl(['get', 'secret', 'tls', '-n', ns, '-o', 'jsonpath={.type}'])).trim(),
      'kubernetes.io/tls',
    );
    assert.deepEqual(await secretData(ns, 'tls'), { 'tls.crt': 'CRT', 'tls.key': 'KEY' });
  });

  test('the Secret follows a Vault change within refreshInterval + 2s, keeping labels of other tools', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { password: 'one', extra: 'x' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '2s',
      keysMap: {
        password: { path: `secret/${ns}/app`, key: 'password' },
        extra: { path: `secret/${ns}/app`, key: 'extra' },
      },
    });
    await waitForReady(ns, 'app', 'True');
    await kubectl(['label', 'secret', 'app', '-n', ns, 'other-tool=keeps-this']);

    const changedAt = Date.now();
    await putKv2(`secret/${ns}/app`, { password: 'two', extra: 'x' });
    await waitForSecretValue(ns, 'app', 'password', 'two', 4_000);
    assert.ok(Date.now() - changedAt <= 4_000);

    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '2s',
      keysMap: { password: { path: `secret/${ns}/app`, key: 'password' } },
    });
    await waitForSecretValue(ns, 'app', 'extra', undefined);
    assert.deepEqual(await secretData(ns, 'app'), { password: 'two' });
    // The create's fields were folded into the operator's apply, which then removed the key.
    const managers = await kubectl([
      ...['get', 'secret', 'app', '-n', ns, '--show-managed-fields'],
      '-o',
      'jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}',
    ]);
    assert.deepEqual(managers.trim().split(' ').sort(), ['kubectl-label/Update', 'secrets-manager/Apply']);
    assert.equal(
      (
        await kubectl(['get', 'secret', 'app', '-n', ns, '-o', 'jsonpath={.metadata.labels.other-tool}'])
      ).trim(),
      'keeps-this',
    );
  });

  test('renaming spec.name removes the old Secret; changing type recreates the Secret, unless the apiserver would refuse the new one', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: '1' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    const keysMap = { v: { path: `secret/${ns}/app`, key: 'v' } };
    await applyDefinition(ns, 'app', { name: 'first', keysMap });
    await waitFor('the first Secret', async () => (await secretData(ns, 'first')) ?? undefined);

    await applyDefinition(ns, 'app', { name: 'second', keysMap });
    await waitFor('the second Secret', async () => (await secretData(ns, 'second')) ?? undefined);
    await waitFor('the first Secret to go', async () =>
      (await secretData(ns, 'first')) === undefined ? true : undefined,
    );

    const { core } = await testStack();
    const before = (await core.readNamespacedSecret({ namespace: ns, name: 'second' })).metadata?.uid;
    await applyDefinition(ns, 'app', { name: 'second', type: 'example.com/custom', keysMap });
    const after = await waitFor('the Secret to be recreated with the new type', async () => {
      const secret = await core
        .readNamespacedSecret({ namespace: ns, name: 'second' })
        .catch(() => undefined);
      return secret?.type === 'example.com/custom' ? secret : undefined;
    });
    assert.notEqual(after.metadata?.uid, before);
    assert.deepEqual(await secretData(ns, 'second'), { v: '1' });

    // A type the apiserver refuses for this data: the recreated Secret stays as it is.
    await applyDefinition(ns, 'app', { name: 'second', type: 'kubernetes.io/tls', keysMap });
    const refused = await waitForReady(ns, 'app', 'False', 'KubernetesError');
    assert.match(refused.message ?? '', /tls\.(crt|key)/);
    const kept = await core.readNamespacedSecret({ namespace: ns, name: 'second' });
    assert.equal(kept.metadata?.uid, after.metadata?.uid);
    assert.equal(kept.type, 'example.com/custom');
    assert.deepEqual(await secretData(ns, 'second'), { v: '1' });
  });

  test('deleting a definition garbage-collects its Secret, unless deletionPolicy is Retain', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: '1' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    const keysMap = { v: { path: `secret/${ns}/app`, key: 'v' } };
    await applyDefinition(ns, 'deleted', { name: 'deleted', keysMap });
    await applyDefinition(ns, 'retained', { name: 'retained', keysMap, deletionPolicy: 'Retain' });
    await waitForReady(ns, 'deleted', 'True');
    await waitForReady(ns, 'retained', 'True');

    await deleteDefinition(ns, 'deleted');
    await deleteDefinition(ns, 'retained');

    // The garbage collector learns a new CRD on its discovery resync (every 30 s): on a stack
    // started moments ago it may not watch SecretDefinitions yet, so this can take up to a minute.
    await waitFor(
      'the Delete Secret to be collected',
      async () => ((await secretData(ns, 'deleted')) === undefined ? true : undefined),
      65_000,
    );
    assert.deepEqual(await secretData(ns, 'retained'), { v: '1' });
  });
});

test('VAULT_ADDR wins over --vault.url as in the original, and the start log names each source, never a value', async (t) => {
  const { state } = await testStack();
  // A --vault.url where nothing listens: the operator can only be ready through VAULT_ADDR.
  const operator = await startOperator(t, {
    args: ['--vault.url=http://127.0.0.1:1', '--watch-namespaces=none'],
    env: { VAULT_ADDR: state.vault.addr },
  });
  await waitReady(operator);
  const line = operator
    .logs()
    .split('\n')
    .find((l) => l.includes('"connection settings"'));
  assert.ok(line, operator.logs());
  assert.deepEqual((JSON.parse(line) as { sources: unknown }).sources, [
    '--vault.url from env VAULT_ADDR',
    '--vault.auth-method from default',
    '--vault.role-id from env VAULT_ROLE_ID',
    '--vault.secret-id from env VAULT_SECRET_ID',
    '--kubeconfig from flag',
  ]);
  assert.ok(!line.includes(state.vault.approle.secretId) && !line.includes(state.vault.approle.roleId));
});

test('without --kubeconfig, KUBECONFIG is a list of files as for kubectl: a missing one is skipped', async (t) => {
  const { state } = await testStack();
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/db`, { password: 'from-kubeconfig-list' });
  const absent = join(tmpdir(), `absent-${process.pid}.kubeconfig`);
  const operator = await startOperator(t, {
    args: [`--watch-namespaces=${ns}`],
    env: { KUBECONFIG: `${absent}:${state.kube.kubeconfig}` },
    kubeconfigFlag: false,
  });
  await waitReady(operator);
  await applyDefinition(ns, 'db', {
    name: 'db',
    keysMap: { p: { path: `secret/${ns}/db`, key: 'password' } },
  });
  await waitForSecretValue(ns, 'db', 'p', 'from-kubeconfig-list');
  const line = operator
    .logs()
    .split('\n')
    .find((l) => l.includes('"kubernetes connection"'));
  assert.ok(line?.includes(`"from":"kubeconfig ${state.kube.kubeconfig}, context `), operator.logs());
});

test('--log-format text and --log-level warn shape the log; -zap-devel means text at debug, as in the original', async (t) => {
  const textLine = /^\d{4}-\d\d-\d\dT[\d:.]+Z (error|warn|info|debug) \S/;
  const quiet = await startOperator(t, {
    args: ['--log-format=text', '--log-level=warn', '--watch-namespaces=none'],
  });
  await waitReady(quiet);
  await quiet.stop();
  const quietLines = quiet.logs().trim().split('\n');
  assert.ok(quietLines.length > 0);
  for (const line of quietLines) assert.match(line, /^\S+ (error|warn) /, line);
  assert.ok(
    quietLines.some((line) => line.includes(' warn no --access-policy: tenancy is off')),
    quiet.logs(),
  );

  const devel = await startOperator(t, { args: ['-zap-devel', '--watch-namespaces=none'] });
  await waitReady(devel);
  await devel.stop();
  const develLines = devel.logs().trim().split('\n');
  for (const line of develLines) assert.match(line, textLine, line);
  assert.ok(
    develLines.some((line) => / debug /.test(line)),
    devel.logs(),
  );
});

test("the original's Go-style command line runs the operator unchanged", async (t) => {
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/db`, { password: 'go-style' });
  // As the original's manifests spell them: one dash, a value as the next argument, a zap flag.
  const operator = await startOperator(t, {
    args: [
      '-watch-namespaces',
      ns,
      '-reconcile-period=1s',
      '-enable-leader-election=false',
      '-zap-log-level=debug',
      // Accepted as the original's, and ignored (the flag table says so; the first one says so at start).
      '-vault.token-polling-period=30s',
      '-zap-stacktrace-level=error',
      '-zap-time-encoding=epoch',
      '-controller-name=LegacySecrets',
    ],
  });
  await waitReady(operator);
  assert.match(
    operator.logs(),
    /--vault\.token-polling-period is accepted for compatibility and ignored: renewal follows the token TTL/,
  );
  await applyDefinition(ns, 'go', {
    name: 'go',
    keysMap: { p: { path: `secret/${ns}/db`, key: 'password' } },
  });
  await waitForSecretValue(ns, 'go', 'p', 'go-style');
  assert.match(operator.logs(), /"level":"debug"/, 'the zap level reached the logger');
  const metrics = await operator.metrics();
  assert.equal(metricSum(metrics, 'secrets_manager_leader'), 1, 'leading without election');
  // -controller-name names the controller and its queue in the controller-runtime series.
  assert.ok(
    metricSum(metrics, 'controller_runtime_reconcile_total{controller="LegacySecrets",result="success"}') >=
      1,
  );
  assert.ok(metricSum(metrics, 'workqueue_adds_total{name="LegacySecrets"}') >= 1);
  assert.equal(metricSum(metrics, 'controller_runtime_reconcile_total{controller="SecretDefinition"'), 0);
});
