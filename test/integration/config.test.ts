// The plain manifests in config/ are accepted by a real apiserver (server-side dry run), and the
// Vault setup script configures a real OpenBao that the operator's role can then log in to.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { http } from '../harness/http.ts';
import { freePorts, startDaemon, stopDaemon, waitUntilReady } from '../harness/processes.ts';
import { ensureCrd } from '../support/operator.ts';
import { kubectl, statusOf, testStack } from '../support/stack.ts';

const exec = promisify(execFile);
const configDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config');

async function yamlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

test('every manifest in config/ passes a server-side dry run', async () => {
  await ensureCrd();
  const { core } = await testStack();
  // The namespaced Role example targets team-a.
  await core.createNamespace({ body: { metadata: { name: 'team-a' } } }).catch((error: unknown) => {
    if (statusOf(error) !== 409) throw error;
  });
  const files = [
    ...(await yamlFiles(join(configDir, 'rbac'))),
    ...(await yamlFiles(join(configDir, 'manager'))),
    ...(await yamlFiles(join(configDir, 'samples'))),
  ];
  assert.ok(files.length >= 14, `found ${files.length} manifests`);
  for (const file of files) {
    const out = await kubectl(['apply', '--dry-run=server', '-f', file]);
    assert.match(out, /\(server dry run\)/, file);
  }
});

test('the sample Vault setup script configures AppRole and Kubernetes auth that log in', async (t) => {
  const { state } = await testStack();
  const dir = await mkdtemp(join(tmpdir(), 'bao-setup-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [port] = await freePorts(1);
  const addr = `http://127.0.0.1:${port}`;
  const bao = startDaemon({
    name: 'openbao-dev',
    command: state.binaries.bao,
    args: ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, '-dev-root-token-id=root'],
    logFile: join(dir, 'openbao.log'),
  });
  t.after(() => stopDaemon(bao.pid));
  await waitUntilReady(bao, async () => (await http(`${addr}/v1/sys/health`)).status === 200, 30_000);

  const reviewer = (await kubectl(['create', 'token', 'vault-token-reviewer', '-n', 'kube-system'])).trim();
  const env = {
    TOKEN_REVIEWER_JWT: reviewer,
    ...process.env,
    VAULT_ADDR: addr,
    VAULT_TOKEN: 'root',
    VAULT_CLI: state.binaries.bao,
    KUBERNETES_HOST: state.kube.server,
    KUBERNETES_CA_FILE: state.kube.caFile,
  };
  const { stdout } = await exec('sh', [join(configDir, 'samples', 'setup-vault.sh')], { env });
  const roleId = /role_id:\s+(\S+)/.exec(stdout)?.[1];
  assert.ok(roleId, stdout);
  const secretId = JSON.parse(
    (
      await exec(
        state.binaries.bao,
        ['write', '-f', '-format=json', 'auth/approle/role/secrets-manager/secret-id'],
        { env },
      )
    ).stdout,
  ) as { data: { secret_id: string } };
  const approle = await http(`${addr}/v1/auth/approle/login`, {
    method: 'POST',
    body: { role_id: roleId, secret_id: secretId.data.secret_id },
  });
  assert.equal(approle.status, 200, approle.body);
  assert.deepEqual((JSON.parse(approle.body) as { auth: { token_policies: string[] } }).auth.token_policies, [
    'default',
    'secrets-manager',
  ]);

  const jwt = (await kubectl(['create', 'token', 'secrets-manager', '-n', 'secrets-manager'])).trim();
  const kube = await http(`${addr}/v1/auth/kubernetes/login`, {
    method: 'POST',
    body: { role: 'secrets-manager', jwt },
  });
  assert.equal(kube.status, 200, kube.body);
  assert.match(
    await readFile(join(configDir, 'samples', 'vault-policy.hcl'), 'utf8'),
    /capabilities = \["read"\]/,
  );
});
