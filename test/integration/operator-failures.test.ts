// Bad input and faults: the condition says why, the last good Secret stays, and it heals when fixed.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import {
  applyDefinition,
  putKv2,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import {
  freshNamespace,
  kubectl,
  startStackDaemon,
  stopStackDaemon,
  testStack,
  waitFor,
} from '../support/stack.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('failures keep the last good Secret', () => {
  test('a missing path, a missing key and bad base64 each report their reason, keep the data, and heal', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { password: 'good', cert: b64('x') });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    const spec = (keysMap: Record<string, { path: string; key: string; encoding?: string }>) => ({
      name: 'app',
      refreshInterval: '1s',
      keysMap,
    });
    await applyDefinition(ns, 'app', spec({ password: { path: `secret/${ns}/app`, key: 'password' } }));
    await waitForReady(ns, 'app', 'True');

    await applyDefinition(ns, 'app', spec({ password: { path: `secret/${ns}/missing`, key: 'password' } }));
    const missingPath = await waitForReady(ns, 'app', 'False', 'PathNotFound');
    assert.match(missingPath.message, new RegExp(`no secret at Vault path secret/${ns}/missing`));
    assert.deepEqual(await secretData(ns, 'app'), { password: 'good' });

    await applyDefinition(ns, 'app', spec({ password: { path: `secret/${ns}/app`, key: 'nope' } }));
    await waitForReady(ns, 'app', 'False', 'KeyNotFound');
    assert.deepEqual(await secretData(ns, 'app'), { password: 'good' });

    await putKv2(`secret/${ns}/app`, { password: 'good', cert: 'not base64!' });
    await applyDefinition(
      ns,
      'app',
      spec({
        password: { path: `secret/${ns}/app`, key: 'password' },
        cert: { path: `secret/${ns}/app`, key: 'cert', encoding: 'base64' },
      }),
    );
    await waitForReady(ns, 'app', 'False', 'InvalidValue');
    assert.deepEqual(await secretData(ns, 'app'), { password: 'good' });

    await putKv2(`secret/${ns}/app`, { password: 'better', cert: b64('fixed') });
    await waitForReady(ns, 'app', 'True', 'Synced', 10_000);
    assert.deepEqual(await secretData(ns, 'app'), { password: 'better', cert: 'fixed' });
  });

  test('a path the Vault policy forbids reports Forbidden and leaves the Secret alone', async (t) => {
    const ns = await freshNamespace(t);
    const { vault } = await testStack();
    await vault.call('POST', `sys/mounts/forbidden-${ns}`, { type: 'kv', options: { version: '2' } });
    await putKv2(`secret/${ns}/app`, { v: 'ok' });
    await putKv2(`forbidden-${ns}/app`, { v: 'hidden' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await waitForReady(ns, 'app', 'True');

    await applyDefinition(ns, 'app', {
      name: 'app',
      keysMap: { v: { path: `forbidden-${ns}/app`, key: 'v' } },
    });
    const condition = await waitForReady(ns, 'app', 'False', 'Forbidden');
    assert.match(condition.message, /policy/);
    assert.deepEqual(await secretData(ns, 'app'), { v: 'ok' });
  });

  test('an invalid spec that passed the CRD reports InvalidSpec naming the field', async (t) => {
    const ns = await freshNamespace(t);
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '10ms',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
    });
    const condition = await waitForReady(ns, 'app', 'False', 'InvalidSpec');
    assert.match(condition.message, /spec\.refreshInterval: must be at least 1s/);
  });

  test('a Secret the apiserver refuses names the field, never a piece of the value, and the last Secret stays', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/registry`, { auth: '{"auths":{}}' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'pull', {
      name: 'pull',
      type: 'kubernetes.io/dockerconfigjson',
      refreshInterval: '1s',
      keysMap: { '.dockerconfigjson': { path: `secret/${ns}/registry`, key: 'auth' } },
    });
    await waitForReady(ns, 'pull', 'True');
    // Not JSON: the apiserver's own message would quote its first character ('q').
    await putKv2(`secret/${ns}/registry`, { auth: 'qwerty-not-json' });
    const refused = await waitForReady(ns, 'pull', 'False', 'KubernetesError', 10_000);
    assert.equal(
      refused.message,
      `applying Secret ${ns}/pull failed (422 Invalid): the apiserver refused data[.dockerconfigjson]: FieldValueInvalid`,
    );
    assert.deepEqual(await secretData(ns, 'pull'), { '.dockerconfigjson': '{"auths":{}}' });
    const events = await kubectl(['get', 'events', '-n', ns, '-o', 'json']);
    assert.doesNotMatch(events + operator.logs(), /'q'|qwerty/);
  });

  test('the CRD refuses bad input at apply time with a message naming the field', async (t) => {
    const ns = await freshNamespace(t);
    await assert.rejects(
      applyDefinition(ns, 'bad', {
        name: 'Bad_Name',
        keysMap: { v: { path: 'secret/x', key: 'v', encoding: 'hex' } },
      }),
      (error: Error) => /spec\.name/.test(error.message) && /spec\.keysMap\.v\.encoding/.test(error.message),
    );
    await assert.rejects(
      applyDefinition(ns, 'empty', { name: 'empty', keysMap: {} }),
      /at least one entry in keysMap or dataFrom/,
    );
  });

  test('a Vault that accepts connections and never answers is given up on after --config.backend-timeout', async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const { port } = silent.address() as AddressInfo;
    const operator = await startOperator(t, {
      args: [
        `--vault.url=http://127.0.0.1:${port}`,
        '--config.backend-timeout=1500ms',
        '--watch-namespaces=none',
      ],
    });
    await waitFor('a login given up on after 1500ms', async () =>
      operator
        .logs()
        .split('\n')
        .some(
          (line) =>
            line.includes('"Vault login failed; retrying"') && line.includes('no answer within 1500ms'),
        )
        ? true
        : undefined,
    );
    assert.ok(sockets.size >= 1, 'the operator did connect');
  });

  test('Vault stopped: Ready=False VaultUnavailable, the Secret keeps its data, and it heals when Vault is back', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: 'before' });
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`, '--config.backend-timeout=1s'],
    });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app',
      refreshInterval: '1s',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
    });
    await waitForReady(ns, 'app', 'True');

    await stopStackDaemon('openbao');
    try {
      await waitForReady(ns, 'app', 'False', 'VaultUnavailable', 20_000);
      assert.deepEqual(await secretData(ns, 'app'), { v: 'before' });
    } finally {
      await startStackDaemon('openbao');
    }
    await putKv2(`secret/${ns}/app`, { v: 'after' });
    await waitForReady(ns, 'app', 'True', 'Synced', 45_000);
    await waitForSecretValue(ns, 'app', 'v', 'after', 10_000);
  });
});

describe('ownership', () => {
  test('an existing Secret the definition does not own is left byte-for-byte untouched', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: 'vault' });
    await kubectl(['create', 'secret', 'generic', 'taken', '-n', ns, '--from-literal=v=mine']);
    const before = await kubectl(['get', 'secret', 'taken', '-n', ns, '-o', 'json']);
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'taken',
      keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
    });
    const condition = await waitForReady(ns, 'app', 'False', 'SecretNotOwned');
    assert.match(condition.message, /left untouched/);
    assert.equal(await kubectl(['get', 'secret', 'taken', '-n', ns, '-o', 'json']), before);
  });

  test('two definitions on one Secret: the second reports Conflict and the first keeps it', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/a`, { v: 'first' });
    await putKv2(`secret/${ns}/b`, { v: 'second' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'first', {
      name: 'shared',
      keysMap: { v: { path: `secret/${ns}/a`, key: 'v' } },
    });
    await waitForReady(ns, 'first', 'True');
    await applyDefinition(ns, 'second', {
      name: 'shared',
      keysMap: { v: { path: `secret/${ns}/b`, key: 'v' } },
    });
    const condition = await waitForReady(ns, 'second', 'False', 'Conflict');
    assert.match(condition.message, /managed by SecretDefinition first/);
    assert.deepEqual(await secretData(ns, 'shared'), { v: 'first' });
  });

  test('a managed Secret edited or deleted by hand is restored within 2 seconds', async (t) => {
    const ns = await freshNamespace(t);
    await putKv2(`secret/${ns}/app`, { v: 'truth' });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`, '--reconcile-period=1h'] });
    await waitReady(operator);
    await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await waitForReady(ns, 'app', 'True');

    await kubectl([
      'patch',
      'secret',
      'app',
      '-n',
      ns,
      '-p',
      JSON.stringify({ data: { v: Buffer.from('tampered').toString('base64') } }),
    ]);
    await waitForSecretValue(ns, 'app', 'v', 'truth', 2_000);

    await kubectl(['delete', 'secret', 'app', '-n', ns]);
    await waitForSecretValue(ns, 'app', 'v', 'truth', 2_000);
  });
});
