// Vault over TLS: a second OpenBao in dev-TLS mode (its own generated CA) serves the operator,
// which trusts it only through --vault.ca-cert.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { http } from '../harness/http.ts';
import { freePorts, startDaemon, stopDaemon, waitUntilReady } from '../harness/processes.ts';
import { applyDefinition, secretData, startOperator, waitForReady, waitReady } from '../support/operator.ts';
import { freshNamespace, testStack, waitFor } from '../support/stack.ts';

test('an operator given the CA syncs from Vault over TLS, --vault.skip-verify connects, and one with neither says why it cannot', async (t) => {
  const ns = await freshNamespace(t);
  const { state } = await testStack();
  const dir = await mkdtemp(join(tmpdir(), 'bao-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [port] = await freePorts(1);
  const address = `https://127.0.0.1:${port}`;
  const rootToken = `root-${ns}`;
  const bao = startDaemon({
    name: 'openbao-tls',
    command: state.binaries.bao,
    args: [
      'server',
      '-dev',
      '-dev-tls',
      `-dev-tls-cert-dir=${dir}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      `-dev-root-token-id=${rootToken}`,
    ],
    logFile: join(dir, 'openbao.log'),
  });
  t.after(() => stopDaemon(bao.pid));
  const caFile = join(dir, 'vault-ca.pem');
  await waitUntilReady(
    bao,
    async () =>
      (await http(`${address}/v1/sys/health`, { ca: await readFile(caFile, 'utf8') })).status === 200,
    30_000,
  );
  const ca = await readFile(caFile, 'utf8');
  const put = await http(`${address}/v1/secret/data/${ns}/app`, {
    method: 'POST',
    ca,
    headers: { 'x-vault-token': rootToken },
    body: { data: { v: 'over-tls' } },
  });
  assert.equal(put.status, 200, put.body);
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, rootToken);

  const trusting = await startOperator(t, {
    args: [
      `--watch-namespaces=${ns}`,
      `--vault.url=${address}`,
      '--vault.auth-method=token',
      `--vault.token-file=${tokenFile}`,
      `--vault.ca-cert=${caFile}`,
    ],
  });
  await waitReady(trusting);
  await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
  await waitForReady(ns, 'app', 'True');
  assert.deepEqual(await secretData(ns, 'app'), { v: 'over-tls' });
  await trusting.stop();

  const careless = await startOperator(t, {
    args: [
      `--watch-namespaces=${ns}`,
      `--vault.url=${address}`,
      '--vault.auth-method=token',
      `--vault.token-file=${tokenFile}`,
      '--vault.skip-verify',
    ],
  });
  await waitReady(careless);
  await careless.stop();

  const doubting = await startOperator(t, {
    args: [
      `--watch-namespaces=${ns}`,
      `--vault.url=${address}`,
      '--vault.auth-method=token',
      `--vault.token-file=${tokenFile}`,
    ],
  });
  await waitFor(
    'the operator to report the certificate problem',
    async () => (/certificate/i.test(doubting.logs()) ? true : undefined),
    15_000,
  );
  assert.ok(!doubting.logs().includes(rootToken), 'the token stays out of the logs');
});
