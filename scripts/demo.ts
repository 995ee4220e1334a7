// `npm run demo`: the local stack, Vault seeded with sample data, the CRD, the operator, the
// samples applied and turning Ready, then a Vault change followed by its Secret. Ctrl-C stops
// everything; `--once` (used by the tests) stops by itself after the change is followed.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { kubectlRun } from '../test/harness/kube.ts';
import { freePorts } from '../test/harness/processes.ts';
import { startStack, stopStack, type StackState } from '../test/harness/stack.ts';
import { operatorPolicy, VaultAdmin } from '../test/harness/vault.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const once = process.argv.includes('--once');
const color = process.stdout.isTTY && !process.env['NO_COLOR'];
const paint = (code: number, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const step = (text: string): void => void process.stdout.write(`\n${paint(1, '==>')} ${paint(1, text)}\n`);
const say = (text: string): void => void process.stdout.write(`    ${text}\n`);

const seed: Record<string, Record<string, unknown>> = {
  'secret/data/samples/app-db': { data: { username: 'app', password: 'first-password', host: '127.0.0.1' } },
  'secret/data/samples/keystore': { data: { p12: Buffer.from('not really a keystore').toString('base64') } },
  'secret/data/samples/ingress-tls': {
    data: { crt: '-----BEGIN CERTIFICATE-----\n(demo)\n-----END CERTIFICATE-----', key: '(demo key)' },
  },
  'secret/data/samples/app-config': { data: { LOG_LEVEL: 'info', FEATURE_X: true, MAX_CONNECTIONS: 20 } },
  'kv/samples/legacy-api': { key: 'legacy-api-key' },
};

let stack: StackState | undefined;
let operator: ChildProcess | undefined;
let stopping: Promise<void> | undefined;

function shutdown(): Promise<void> {
  stopping ??= (async () => {
    step('Stopping');
    if (operator && operator.exitCode === null) {
      const exited = new Promise((resolve) => operator?.once('exit', resolve));
      operator.kill('SIGTERM');
      await exited;
      say('operator stopped (its Vault token revoked, unless leases it issued live on)');
    }
    if (stack) {
      await stopStack(stack.dir);
      say('stack stopped and its data removed');
    }
  })();
  return stopping;
}

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await delay(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void shutdown().then(() => process.exit(0)));

  step('Starting the local stack: etcd, kube-apiserver, kube-controller-manager, OpenBao');
  const dir = join(tmpdir(), 'secrets-manager-demo', `${process.pid}-${randomBytes(3).toString('hex')}`);
  const started = await startStack(dir, { report: (message) => say(message) });
  stack = started;
  const kubectl = (args: string[]): Promise<string> =>
    kubectlRun(started.binaries.kubectl, started.kube, args);
  const vault = new VaultAdmin(started.vault.addr, started.vault.rootToken);

  step('Seeding Vault with sample secrets');
  for (const [path, body] of Object.entries(seed)) {
    await vault.call('POST', path, body);
    say(`${path.replace('/data/', '/')}`);
  }

  step("Setting up a PKI engine and a database engine (on the stack's PostgreSQL) for the issuing samples");
  await vault.call('POST', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '720h' } });
  await vault.call('POST', 'pki/root/generate/internal', {
    common_name: 'demo root',
    ttl: '720h',
    key_type: 'ec',
  });
  await vault.call('POST', 'pki/roles/web', {
    allowed_domains: ['svc', 'svc.cluster.local'],
    allow_subdomains: true,
    key_type: 'ec',
  });
  const pg = started.postgres;
  await vault.call('POST', 'sys/mounts/database', { type: 'database' });
  await vault.call('POST', 'database/config/app', {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/${pg.database}?sslmode=disable`,
    username: pg.user,
    password: pg.password,
    allowed_roles: ['app'],
  });
  await vault.call('POST', 'database/roles/app', {
    db_name: 'app',
    creation_statements: [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
    ],
    default_ttl: '1h',
    max_ttl: '24h',
  });
  // The operator's policy, plus what config/samples/vault-policy.hcl grants for issuing.
  const samplePolicy = await readFile(join(repoRoot, 'config', 'samples', 'vault-policy.hcl'), 'utf8');
  const issuing = samplePolicy.slice(samplePolicy.indexOf('# PKI definitions'));
  await vault.call('PUT', `sys/policies/acl/${operatorPolicy.name}`, {
    policy: `${operatorPolicy.text}\n${issuing}`,
  });
  say('pki/issue/web, database/creds/app');

  step('Installing the SecretDefinition CRD');
  await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crd.yaml')]);
  await kubectl([
    'wait',
    '--for=condition=Established',
    'crd/secretdefinitions.secrets-manager.tuenti.io',
    '--timeout=30s',
  ]);
  say('secretdefinitions.secrets-manager.tuenti.io established');

  step('Starting secrets-manager');
  const [port] = await freePorts(1);
  operator = spawn(
    process.execPath,
    [
      join(repoRoot, 'src', 'main.ts'),
      `--kubeconfig=${started.kube.kubeconfig}`,
      `--vault.url=${started.vault.addr}`,
      `--metrics-addr=127.0.0.1:${port}`,
      '--reconcile-period=2s',
      '--log-format=text',
    ],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        VAULT_ROLE_ID: started.vault.approle.roleId,
        VAULT_SECRET_ID: started.vault.approle.secretId,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const prefix = paint(2, '    operator | ');
  const relay = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n').filter(Boolean))
      process.stdout.write(`${prefix}${paint(2, line)}\n`);
  };
  operator.stdout?.on('data', relay);
  operator.stderr?.on('data', relay);
  await waitUntil(
    'the operator to be ready',
    async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined),
    30_000,
  );

  step('Applying the samples from config/samples/');
  const samples = (await readdir(join(repoRoot, 'config', 'samples')))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(repoRoot, 'config', 'samples', f));
  for (const line of (await kubectl(['apply', ...samples.flatMap((f) => ['-f', f])])).trim().split('\n'))
    say(line);

  step('Waiting for every SecretDefinition to be Ready');
  await waitUntil(
    'all definitions Ready',
    async () => {
      const statuses = (
        await kubectl([
          'get',
          'sd',
          '-n',
          'default',
          '-o',
          'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ])
      )
        .trim()
        .split('\n');
      return statuses.length === samples.length && statuses.every((s) => s === 'True') ? true : undefined;
    },
    60_000,
  );
  for (const line of (await kubectl(['get', 'sd', '-n', 'default'])).trimEnd().split('\n')) say(line);
  const password = async (): Promise<string> =>
    Buffer.from(
      await kubectl([
        'get',
        'secret',
        'app-db-credentials',
        '-n',
        'default',
        '-o',
        'jsonpath={.data.password}',
      ]),
      'base64',
    ).toString();
  say(`Secret app-db-credentials: password=${await password()}`);

  step('Changing the password in Vault');
  await vault.call('POST', 'secret/data/samples/app-db', {
    data: { username: 'app', password: 'second-password' },
  });
  const changed = Date.now();
  say('vault kv put secret/samples/app-db password=second-password');
  await waitUntil(
    'the Secret to follow',
    async () => ((await password()) === 'second-password' ? true : undefined),
    30_000,
  );
  say(
    paint(
      32,
      `Secret app-db-credentials followed in ${((Date.now() - changed) / 1000).toFixed(1)}s: password=${await password()}`,
    ),
  );

  if (once) {
    await shutdown();
    return;
  }
  step('Running. Try it yourself in another shell:');
  say(
    `export KUBECONFIG=${started.kube.kubeconfig} VAULT_ADDR=${started.vault.addr} VAULT_TOKEN=${started.vault.rootToken}`,
  );
  say(`${started.binaries.bao} kv put secret/samples/app-db username=app password=third`);
  say(`${started.binaries.kubectl} get sd -A`);
  say('Press Ctrl-C to stop everything.');
  await new Promise(() => undefined);
}

main().catch(async (error: unknown) => {
  process.stderr.write(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await shutdown();
  process.exit(1);
});
