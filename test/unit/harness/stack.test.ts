import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { envFileText, type StackState } from '../../harness/stack.ts';

const exec = promisify(execFile);

const state = {
  dir: '/tmp/stack',
  binDir: "/tmp/stack/bin with 'quotes'",
  kube: { kubeconfig: '/tmp/stack/kubeconfig', caFile: '', adminToken: '', server: '' },
  vault: {
    addr: 'http://127.0.0.1:8200',
    rootToken: "s.abc'$(touch /tmp/pwned)",
    approle: { roleId: 'r', secretId: 's' },
    auditLog: '/tmp/stack/openbao/audit.log',
    auditSocketAddr: '127.0.0.1:45679',
  },
  postgres: {
    host: '127.0.0.1',
    port: 45678,
    user: 'postgres',
    password: "pw'$(touch /tmp/pwned)",
    database: 'postgres',
    url: "postgres://postgres:pw'%24(touch%20%2Ftmp%2Fpwned)@127.0.0.1:45678/postgres",
  },
} as unknown as StackState;

test('the env file exports the stack contract and survives shell metacharacters', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'harness-env-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'env');
  await writeFile(file, envFileText(state));

  const { stdout } = await exec('sh', [
    '-c',
    `. ${file}; printf '%s\\n' "$KUBECONFIG" "$VAULT_ADDR" "$VAULT_TOKEN" "$HARNESS_BIN" "$VAULT_AUDIT_LOG" "$VAULT_AUDIT_SOCKET_ADDR"`,
  ]);

  assert.deepEqual(stdout.split('\n').slice(0, 6), [
    '/tmp/stack/kubeconfig',
    'http://127.0.0.1:8200',
    "s.abc'$(touch /tmp/pwned)",
    "/tmp/stack/bin with 'quotes'",
    '/tmp/stack/openbao/audit.log',
    '127.0.0.1:45679',
  ]);
});

test('the env file exports how to reach PostgreSQL as its superuser', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'harness-env-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'env');
  await writeFile(file, envFileText(state));

  const { stdout } = await exec('sh', [
    '-c',
    `. ${file}; printf '%s\\n' "$POSTGRES_URL" "$POSTGRES_HOST" "$POSTGRES_PORT" "$POSTGRES_USER" "$POSTGRES_PASSWORD"`,
  ]);

  assert.deepEqual(stdout.split('\n').slice(0, 5), [
    "postgres://postgres:pw'%24(touch%20%2Ftmp%2Fpwned)@127.0.0.1:45678/postgres",
    '127.0.0.1',
    '45678',
    'postgres',
    "pw'$(touch /tmp/pwned)",
  ]);
});
