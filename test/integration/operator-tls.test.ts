// Vault over TLS: a second OpenBao in dev-TLS mode (its own generated CA) serves the operator,
// which trusts it only through --vault.ca-cert.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { certificateAuthority, issueCertificate } from '../harness/certificates.ts';
import { http } from '../harness/http.ts';
import { freePorts, startDaemon, stopDaemon, waitUntilReady } from '../harness/processes.ts';
import { applyDefinition, secretData, startOperator, waitForReady, waitReady } from '../support/operator.ts';
import { freshNamespace, testStack, waitFor } from '../support/stack.ts';

/**
 * A dev-mode OpenBao serving TLS with a CA of its own, both written to `dir` (vault-ca.pem,
 * vault-cert.pem, vault-key.pem), stopped after the test; `config`: a file of more listeners.
 */
async function startTlsOpenBao(
  t: TestContext,
  dir: string,
  port: number,
  rootToken: string,
  config?: string,
) {
  const { state } = await testStack();
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
      ...(config ? [`-config=${config}`] : []),
    ],
    logFile: join(dir, 'openbao.log'),
  });
  t.after(() => stopDaemon(bao.pid));
  return bao;
}

test('an operator given the CA syncs from Vault over TLS, --vault.skip-verify connects, and one with neither says why it cannot', async (t) => {
  const ns = await freshNamespace(t);
  const dir = await mkdtemp(join(tmpdir(), 'bao-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [port = 0] = await freePorts(1);
  const address = `https://127.0.0.1:${port}`;
  const rootToken = `root-${ns}`;
  const bao = await startTlsOpenBao(t, dir, port, rootToken);
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

test('mutual TLS: the client certificate from --vault.client-cert/--vault.client-key, or VAULT_CLIENT_CERT/VAULT_CLIENT_KEY with VAULT_CACERT, is what lets the operator in', async (t) => {
  const ns = await freshNamespace(t);
  const dir = await mkdtemp(join(tmpdir(), 'bao-mtls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const clientCa = await certificateAuthority(dir, 'operator-ca');
  const client = await issueCertificate(dir, clientCa, 'operator');
  const [devPort = 0, mutualPort = 0] = await freePorts(2);
  const address = `https://127.0.0.1:${mutualPort}`;
  const rootToken = `root-${ns}`;
  // The dev server writes its serving certificate before it opens the extra listener, which
  // reuses it and asks every client for a certificate of operator-ca.
  const extra = join(dir, 'mutual.hcl');
  await writeFile(
    extra,
    `listener "tcp" {
  address = "127.0.0.1:${mutualPort}"
  tls_cert_file = "${join(dir, 'vault-cert.pem')}"
  tls_key_file = "${join(dir, 'vault-key.pem')}"
  tls_require_and_verify_client_cert = true
  tls_client_ca_file = "${clientCa.certFile}"
}
`,
  );
  const bao = await startTlsOpenBao(t, dir, devPort, rootToken, extra);
  const caFile = join(dir, 'vault-ca.pem');
  const withClient = async () => ({
    ca: await readFile(caFile, 'utf8'),
    cert: await readFile(client.certFile, 'utf8'),
    key: await readFile(client.keyFile, 'utf8'),
  });
  await waitUntilReady(
    bao,
    async () => (await http(`${address}/v1/sys/health`, await withClient())).status === 200,
    30_000,
  );
  const put = await http(`${address}/v1/secret/data/${ns}/app`, {
    method: 'POST',
    ...(await withClient()),
    headers: { 'x-vault-token': rootToken },
    body: { data: { v: 'mutual' } },
  });
  assert.equal(put.status, 200, put.body);
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, rootToken);
  const common = [`--vault.url=${address}`, '--vault.auth-method=token', `--vault.token-file=${tokenFile}`];

  const byFlags = await startOperator(t, {
    args: [
      `--watch-namespaces=${ns}`,
      ...common,
      `--vault.ca-cert=${caFile}`,
      `--vault.client-cert=${client.certFile}`,
      `--vault.client-key=${client.keyFile}`,
    ],
  });
  await waitReady(byFlags);
  await applyDefinition(ns, 'app', { name: 'app', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
  await waitForReady(ns, 'app', 'True');
  assert.deepEqual(await secretData(ns, 'app'), { v: 'mutual' });
  await byFlags.stop();

  const byEnv = await startOperator(t, {
    args: [`--watch-namespaces=none`, ...common],
    env: { VAULT_CACERT: caFile, VAULT_CLIENT_CERT: client.certFile, VAULT_CLIENT_KEY: client.keyFile },
  });
  await waitReady(byEnv);
  await byEnv.stop();

  // The CA alone: Vault ends the handshake, and the operator says it cannot reach Vault.
  const without = await startOperator(t, {
    args: [`--watch-namespaces=none`, ...common, `--vault.ca-cert=${caFile}`],
  });
  const refused = await waitFor('the operator to report the refused handshake', async () =>
    without
      .logs()
      .split('\n')
      .find((line) => line.includes('"Vault login failed; retrying"')),
  );
  assert.match(refused, /cannot reach Vault at https:\/\/127\.0\.0\.1:\d+: /);
  assert.ok(!without.logs().includes(rootToken), 'the token stays out of the logs');
  assert.notEqual((await http(`${without.metricsUrl}/readyz`)).status, 200);
});
