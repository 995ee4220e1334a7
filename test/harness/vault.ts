// The Vault half of the test stack: an OpenBao server with persistent file storage and a static
// auto-unseal key (so a restart keeps data and comes back unsealed), configured as DESIGN.md
// section 9 says: KV v2 at secret/, KV v1 at kv/, AppRole and Kubernetes auth, one read policy.

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { http } from './http.ts';
import { operatorIdentity, type KubeFiles } from './kube.ts';
import { startDaemon, waitUntilReady, type DaemonSpec, type RunningDaemon } from './processes.ts';

export interface VaultPorts {
  readonly api: number;
  readonly cluster: number;
  /** Where OpenBao's socket audit device connects: a test's operator listens there (--vault.audit-listen). */
  readonly auditSocket: number;
}

export const operatorPolicy = {
  name: 'secrets-manager',
  text: [
    'path "secret/*" {',
    '  capabilities = ["read"]',
    '}',
    'path "kv/*" {',
    '  capabilities = ["read"]',
    '}',
    '',
  ].join('\n'),
} as const;

export const operatorRole = 'secrets-manager';

export function vaultSpec(dir: string, bin: string): DaemonSpec {
  return {
    name: 'openbao',
    command: bin,
    args: ['server', `-config=${join(dir, 'openbao', 'config.hcl')}`],
    logFile: join(dir, 'logs', 'openbao.log'),
  };
}

/**
 * OpenBao's own record of every request: one JSON object per line, with the request path in clear
 * and tokens HMAC-ed. OpenBao 2.x refuses audit devices enabled through its API, so the device is
 * declared in the server's configuration. Tests and benchmarks count and check requests from it.
 */
export function vaultAuditLog(dir: string): string {
  return join(dir, 'openbao', 'audit.log');
}

export async function writeVaultConfig(dir: string, ports: VaultPorts): Promise<void> {
  const root = join(dir, 'openbao');
  await mkdir(join(root, 'data'), { recursive: true });
  const sealKey = randomBytes(32).toString('hex');
  const config = `
storage "file" {
  path = "${join(root, 'data')}"
}

listener "tcp" {
  address         = "127.0.0.1:${ports.api}"
  cluster_address = "127.0.0.1:${ports.cluster}"
  tls_disable     = true
}

# Auto-unseal with a fixed key: a restarted server comes back unsealed with its data.
seal "static" {
  current_key_id = "harness"
  current_key    = "${sealKey}"
}

# Every request, as OpenBao saw it (VAULT_AUDIT_LOG in the stack's env file).
audit "file" "harness" {
  description = "the test stack's request log"
  options {
    file_path = "${vaultAuditLog(dir)}"
    mode      = "0600"
  }
}

# Every request again, streamed to whoever listens here (VAULT_AUDIT_SOCKET_ADDR): an operator
# with --vault.audit-listen. Nothing listens most of the time; the file device above keeps
# OpenBao answering then (a refused connection fails fast).
audit "socket" "stream" {
  description = "the audit stream an operator can follow"
  options {
    address       = "127.0.0.1:${ports.auditSocket}"
    socket_type   = "tcp"
    write_timeout = "2s"
  }
}

api_addr      = "http://127.0.0.1:${ports.api}"
cluster_addr  = "http://127.0.0.1:${ports.cluster}"
disable_mlock = true
ui            = false
log_level     = "info"
`;
  await writeFile(join(root, 'config.hcl'), config, { mode: 0o600 });
}

export function vaultAddress(ports: VaultPorts): string {
  return `http://127.0.0.1:${ports.api}`;
}

/** Status of GET /v1/sys/health: 200 active, 501 not initialised, 503 sealed. */
export async function vaultHealth(addr: string): Promise<number> {
  return (await http(`${addr}/v1/sys/health`, { timeoutMs: 2_000 })).status;
}

/** Starts the server and waits until it is initialised and unsealed (first start: initialises it). */
export async function startVault(
  dir: string,
  bin: string,
  addr: string,
  track: (pid: number) => Promise<void>,
): Promise<RunningDaemon> {
  const daemon = startDaemon(vaultSpec(dir, bin));
  await track(daemon.pid);
  await waitUntilReady(daemon, async () => [200, 501].includes(await vaultHealth(addr)), 60_000);
  if ((await vaultHealth(addr)) === 501) await initialise(dir, addr);
  await waitUntilReady(daemon, async () => (await vaultHealth(addr)) === 200, 60_000);
  return daemon;
}

async function initialise(dir: string, addr: string): Promise<void> {
  const res = await http(`${addr}/v1/sys/init`, {
    method: 'PUT',
    body: { recovery_shares: 1, recovery_threshold: 1 },
  });
  if (res.status !== 200) throw new Error(`OpenBao init answered ${res.status}: ${res.body}`);
  await writeFile(join(dir, 'openbao', 'init.json'), res.body, { mode: 0o600 });
}

export async function rootToken(dir: string): Promise<string> {
  const init = JSON.parse(await readFile(join(dir, 'openbao', 'init.json'), 'utf8')) as {
    root_token?: unknown;
  };
  if (typeof init.root_token !== 'string') throw new Error('openbao/init.json has no root_token');
  return init.root_token;
}

export class VaultAdmin {
  readonly #addr: string;
  readonly #token: string;

  constructor(addr: string, token: string) {
    this.#addr = addr;
    this.#token = token;
  }

  /** One API call with the root token; any status but 2xx is an error naming the path. */
  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await http(`${this.#addr}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': this.#token },
      ...(body === undefined ? {} : { body }),
    });
    if (res.status < 200 || res.status > 299) {
      throw new Error(`OpenBao ${method} ${path} answered ${res.status}: ${res.body.slice(0, 500)}`);
    }
    return res.body ? (JSON.parse(res.body) as unknown) : undefined;
  }
}

export interface AppRoleCredentials {
  readonly roleId: string;
  readonly secretId: string;
}

function dataField(response: unknown, field: string): string {
  const value = (response as { data?: Record<string, unknown> } | undefined)?.data?.[field];
  if (typeof value !== 'string') throw new Error(`OpenBao response lacks data.${field}`);
  return value;
}

/** Mounts, policy and both auth methods; returns AppRole credentials for the operator's role. */
export async function configureVault(
  admin: VaultAdmin,
  kube: KubeFiles,
  reviewerJwt: string,
): Promise<AppRoleCredentials> {
  await admin.call('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  await admin.call('POST', 'sys/mounts/kv', { type: 'kv', options: { version: '1' } });
  await admin.call('PUT', `sys/policies/acl/${operatorPolicy.name}`, { policy: operatorPolicy.text });

  await admin.call('POST', 'sys/auth/approle', { type: 'approle' });
  await admin.call('POST', `auth/approle/role/${operatorRole}`, {
    token_policies: [operatorPolicy.name],
    token_ttl: '1h',
    token_max_ttl: '4h',
    secret_id_ttl: '0',
    secret_id_num_uses: 0,
  });
  const roleId = dataField(await admin.call('GET', `auth/approle/role/${operatorRole}/role-id`), 'role_id');
  const secretId = dataField(
    await admin.call('POST', `auth/approle/role/${operatorRole}/secret-id`),
    'secret_id',
  );

  await admin.call('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  await admin.call('POST', 'auth/kubernetes/config', {
    kubernetes_host: kube.server,
    kubernetes_ca_cert: await readFile(kube.caFile, 'utf8'),
    token_reviewer_jwt: reviewerJwt,
    // OpenBao runs outside any pod here, so there is no local service-account token or CA to use.
    disable_local_ca_jwt: true,
  });
  await admin.call('POST', `auth/kubernetes/role/${operatorRole}`, {
    bound_service_account_names: [operatorIdentity.serviceAccount],
    bound_service_account_namespaces: [operatorIdentity.namespace],
    token_policies: [operatorPolicy.name],
    token_ttl: '1h',
  });
  return { roleId, secretId };
}

const relayScript = join(import.meta.dirname, 'audit-relay.ts');

export function auditRelaySpec(dir: string, listenPort: number, forwardPort: number): DaemonSpec {
  return {
    name: 'audit-relay',
    command: process.execPath,
    args: [relayScript, String(listenPort), String(forwardPort)],
    logFile: join(dir, 'logs', 'audit-relay.log'),
  };
}

/** Whether the relay a spec describes accepts connections on its listen port. */
export function relayListens(spec: DaemonSpec): Promise<boolean> {
  const port = Number(spec.args[1]);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts the relay OpenBao's socket audit device connects to, and waits until it listens. */
export async function startAuditRelay(
  dir: string,
  listenPort: number,
  forwardPort: number,
  track: (pid: number) => Promise<void>,
): Promise<RunningDaemon> {
  const daemon = startDaemon(auditRelaySpec(dir, listenPort, forwardPort));
  await track(daemon.pid);
  await waitUntilReady(daemon, () => relayListens(daemon.spec), 10_000);
  return daemon;
}
