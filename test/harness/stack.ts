// The whole test stack as one unit: start it into a folder, describe it in state.json and an env
// file, report on it, restart one of its daemons, stop it and remove its data.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ensureBinaries, type HarnessBinaries, type ProgressReporter } from './build.ts';
import {
  apiserverReady,
  bootstrapObjects,
  controllerManagerHealthy,
  etcdHealthy,
  startApiserver,
  startControllerManager,
  startEtcd,
  writeCredentials,
  type KubeFiles,
  type KubePorts,
} from './kube.ts';
import { postgresAnswers, startPostgres, type PostgresState, type StartedPostgres } from './postgres.ts';
import {
  freePorts,
  isAlive,
  startDaemon,
  stopDaemon,
  waitUntilReady,
  type DaemonSpec,
  type RunningDaemon,
} from './processes.ts';
import {
  configureVault,
  rootToken,
  startVault,
  vaultAddress,
  vaultAuditLog,
  vaultHealth,
  VaultAdmin,
  writeVaultConfig,
  type AppRoleCredentials,
  relayListens,
  startAuditRelay,
  type VaultPorts,
} from './vault.ts';

export type DaemonName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'openbao' | 'audit-relay' | 'postgres';

/** Stop order: dependants first (OpenBao's database engine holds connections to PostgreSQL). */
const stopOrder: readonly DaemonName[] = [
  'kube-controller-manager',
  'kube-apiserver',
  'openbao',
  'audit-relay',
  'postgres',
  'etcd',
];

export interface StackState {
  readonly dir: string;
  readonly binDir: string;
  readonly binaries: HarnessBinaries;
  readonly kube: KubeFiles;
  readonly kubePorts: KubePorts;
  readonly vault: {
    readonly addr: string;
    readonly rootToken: string;
    readonly approle: AppRoleCredentials;
    /** OpenBao's file audit device: every request it served, one JSON object per line. */
    readonly auditLog: string;
    /** host:port its socket audit device connects to (VAULT_AUDIT_SOCKET_ADDR). */
    readonly auditSocketAddr: string;
  };
  /** A PostgreSQL server with a password superuser, for OpenBao's database secrets engine. */
  readonly postgres: PostgresState;
  readonly daemons: Record<DaemonName, { readonly pid: number; readonly spec: DaemonSpec }>;
}

export const stateFile = (dir: string): string => join(dir, 'state.json');
export const envFile = (dir: string): string => join(dir, 'env');

export async function readState(dir: string): Promise<StackState | undefined> {
  if (!existsSync(stateFile(dir))) return undefined;
  return JSON.parse(await readFile(stateFile(dir), 'utf8')) as StackState;
}

async function writeState(state: StackState): Promise<void> {
  await writeFile(stateFile(state.dir), JSON.stringify(state, null, 2), { mode: 0o600 });
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The variables a shell, a test or the operator needs to use the stack. */
export function stackEnv(state: StackState): Record<string, string> {
  return {
    KUBECONFIG: state.kube.kubeconfig,
    VAULT_ADDR: state.vault.addr,
    VAULT_TOKEN: state.vault.rootToken,
    VAULT_ROLE_ID: state.vault.approle.roleId,
    VAULT_SECRET_ID: state.vault.approle.secretId,
    VAULT_AUDIT_LOG: state.vault.auditLog,
    VAULT_AUDIT_SOCKET_ADDR: state.vault.auditSocketAddr,
    POSTGRES_URL: state.postgres.url,
    POSTGRES_HOST: state.postgres.host,
    POSTGRES_PORT: String(state.postgres.port),
    POSTGRES_USER: state.postgres.user,
    POSTGRES_PASSWORD: state.postgres.password,
    HARNESS_BIN: state.binDir,
  };
}

/** The env file's text: `export NAME='value'` lines that any POSIX shell can source. */
export function envFileText(state: StackState): string {
  const lines = Object.entries(stackEnv(state)).map(([key, value]) => `export ${key}=${shellQuote(value)}`);
  return `${lines.join('\n')}\n`;
}

async function linkBinaries(binDir: string, binaries: HarnessBinaries): Promise<void> {
  await mkdir(binDir, { recursive: true });
  const paths: readonly string[] = [
    binaries.etcd,
    binaries.kubeApiserver,
    binaries.kubeControllerManager,
    binaries.kubectl,
    binaries.helm,
    binaries.bao,
    binaries.prometheus,
    binaries.promtool,
  ];
  for (const path of paths) {
    await rm(join(binDir, basename(path)), { force: true });
    await symlink(path, join(binDir, basename(path)));
  }
  // Scripts written for Vault's CLI find OpenBao's under the familiar name.
  await rm(join(binDir, 'vault'), { force: true });
  await symlink(binaries.bao, join(binDir, 'vault'));
}

export interface StartOptions {
  readonly report: ProgressReporter;
}

/** Builds what is missing, starts every daemon on free loopback ports and configures them. */
export async function startStack(dir: string, options: StartOptions): Promise<StackState> {
  const binaries = await ensureBinaries(options.report);
  const started = Date.now();
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  const [
    etcdClient,
    etcdPeer,
    apiserver,
    controllerManager,
    api,
    cluster,
    postgresPort,
    auditSocket,
    auditForward,
  ] = await freePorts(9);
  if (
    !etcdClient ||
    !etcdPeer ||
    !apiserver ||
    !controllerManager ||
    !api ||
    !cluster ||
    !postgresPort ||
    !auditSocket ||
    !auditForward
  ) {
    throw new Error('could not reserve nine loopback ports');
  }
  const kubePorts: KubePorts = { etcdClient, etcdPeer, apiserver, controllerManager };
  const vaultPorts: VaultPorts = { api, cluster, auditSocket };
  const pids: number[] = [];
  let vaultStart: Promise<RunningDaemon> | undefined;
  let postgresStart: Promise<StartedPostgres> | undefined;
  const track = async (pid: number): Promise<void> => {
    pids.push(pid);
    // Written before state.json exists, so an interrupted start can still be cleaned up.
    await writeFile(join(dir, 'pids'), pids.join('\n'));
  };
  try {
    const adminToken = await writeCredentials(dir);
    await writeVaultConfig(dir, vaultPorts);
    const addr = vaultAddress(vaultPorts);
    // OpenBao tests its socket audit device as it starts: the relay listens first.
    const relay = await startAuditRelay(dir, auditSocket, auditForward, track);
    // OpenBao needs nothing from Kubernetes until it is configured, so it starts alongside.
    vaultStart = startVault(dir, binaries.bao, addr, track);
    vaultStart.catch(() => undefined);
    // PostgreSQL needs nothing from the others either; its initdb overlaps their starts.
    postgresStart = startPostgres(dir, postgresPort, track);
    postgresStart.catch(() => undefined);
    const etcd = await startEtcd(dir, binaries.etcd, kubePorts, track);
    const api = await startApiserver(dir, binaries.kubeApiserver, kubePorts, adminToken, track);
    const kcm = await startControllerManager(
      dir,
      binaries.kubeControllerManager,
      kubePorts,
      api.files,
      track,
    );
    const reviewerJwt = await bootstrapObjects(binaries.kubectl, api.files);
    const vault = await vaultStart;
    const token = await rootToken(dir);
    const approle = await configureVault(new VaultAdmin(addr, token), api.files, reviewerJwt);
    const postgres = await postgresStart;

    const binDir = join(dir, 'bin');
    await linkBinaries(binDir, binaries);
    const state: StackState = {
      dir,
      binDir,
      binaries,
      kube: api.files,
      kubePorts,
      vault: {
        addr,
        rootToken: token,
        approle,
        auditLog: vaultAuditLog(dir),
        auditSocketAddr: `127.0.0.1:${auditForward}`,
      },
      postgres: postgres.state,
      daemons: {
        etcd: { pid: etcd.pid, spec: etcd.spec },
        'kube-apiserver': { pid: api.daemon.pid, spec: api.daemon.spec },
        'kube-controller-manager': { pid: kcm.pid, spec: kcm.spec },
        openbao: { pid: vault.pid, spec: vault.spec },
        'audit-relay': { pid: relay.pid, spec: relay.spec },
        postgres: { pid: postgres.daemon.pid, spec: postgres.daemon.spec },
      },
    };
    await writeState(state);
    await writeFile(envFile(state.dir), envFileText(state), { mode: 0o600 });
    options.report(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${dir})`);
    return state;
  } catch (error) {
    await vaultStart?.catch(() => undefined);
    await postgresStart?.catch(() => undefined);
    await Promise.all(pids.map((pid) => stopDaemon(pid, 3_000)));
    throw error;
  }
}

/** Stops every daemon of the stack in `dir` and removes the folder with its data. */
export async function stopStack(dir: string): Promise<void> {
  const state = await readState(dir);
  if (state) {
    for (const name of stopOrder) {
      // A stack started by an older harness may lack a daemon added since.
      const daemon = state.daemons[name] as StackState['daemons'][DaemonName] | undefined;
      if (daemon) await stopDaemon(daemon.pid);
    }
  } else if (existsSync(join(dir, 'pids'))) {
    const pids = (await readFile(join(dir, 'pids'), 'utf8'))
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
    await Promise.all(pids.map((pid) => stopDaemon(pid, 3_000)));
  }
  await rm(dir, { recursive: true, force: true });
}

export interface DaemonStatus {
  readonly name: DaemonName;
  readonly pid: number;
  readonly running: boolean;
  readonly healthy: boolean;
}

/** Whether a daemon answers its own health check. */
async function serves(state: StackState, name: DaemonName): Promise<boolean> {
  switch (name) {
    case 'etcd':
      return etcdHealthy(state.kubePorts);
    case 'kube-apiserver':
      return apiserverReady(state.kube.server, state.kube.caFile, state.kube.adminToken);
    case 'kube-controller-manager':
      return controllerManagerHealthy(state.kubePorts);
    case 'openbao':
      return (await vaultHealth(state.vault.addr)) === 200;
    case 'audit-relay':
      return relayListens(state.daemons['audit-relay'].spec);
    case 'postgres':
      return postgresAnswers(state.postgres.url);
  }
}

export async function stackStatus(state: StackState): Promise<DaemonStatus[]> {
  return Promise.all(
    stopOrder.map(async (name) => {
      // Missing from a stack started by an older harness: reported as not running, so `up` replaces it.
      const pid = (state.daemons[name] as StackState['daemons'][DaemonName] | undefined)?.pid ?? 0;
      const running = pid > 0 && isAlive(pid);
      const healthy = running && (await serves(state, name).catch(() => false));
      return { name, pid, running, healthy };
    }),
  );
}

/** Stops one daemon of a running stack; its data stays, so `startDaemonAgain` resumes it. */
export async function stopOne(state: StackState, name: DaemonName): Promise<void> {
  await stopDaemon(state.daemons[name].pid);
}

/** Starts a stopped daemon again with the same configuration and data, and waits until it serves. */
export async function startOneAgain(state: StackState, name: DaemonName): Promise<StackState> {
  const { spec } = state.daemons[name];
  const daemon = startDaemon(spec);
  await waitUntilReady(daemon, () => serves(state, name), 60_000);
  const next: StackState = { ...state, daemons: { ...state.daemons, [name]: { pid: daemon.pid, spec } } };
  await writeState(next);
  return next;
}
