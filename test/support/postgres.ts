// What an integration test needs from the stack's PostgreSQL: log in with credentials (say ones
// OpenBao's database engine minted) to see whether they work, and run a query as someone.

import { Client, type QueryResultRow } from 'pg';
import { testStack } from './stack.ts';

/** A full postgres:// URL, or a user and password for the stack's server (its postgres database by default). */
export type PostgresLogin =
  string | { readonly user: string; readonly password: string; readonly database?: string };

/** Long enough for a loaded machine, short enough that a test stuck on a dead server says so soon. */
const connectTimeoutMs = 5_000;
const queryTimeoutMs = 10_000;

/**
 * SQLSTATE codes meaning "these credentials may not log in": 28P01 is a wrong password, an expired
 * VALID UNTIL and also a role that does not exist (PostgreSQL does not tell them apart, on purpose);
 * 28000 is a role without LOGIN. Anything else (refused, timed out) means the server did not judge.
 */
const refusedLogin: ReadonlySet<string> = new Set(['28P01', '28000']);

export function isRefusedLogin(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && refusedLogin.has(code);
}

/** The URL for a login; the stack's superuser when none is given. */
export async function loginUrl(login?: PostgresLogin): Promise<string> {
  if (typeof login === 'string') return login;
  const { postgres } = (await testStack()).state;
  if (login === undefined) return postgres.url;
  const url = new URL(postgres.url);
  url.username = encodeURIComponent(login.user);
  url.password = encodeURIComponent(login.password);
  url.pathname = `/${encodeURIComponent(login.database ?? postgres.database)}`;
  return url.toString();
}

async function withClient<T>(
  login: PostgresLogin | undefined,
  use: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({
    connectionString: await loginUrl(login),
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
  });
  // A connection the server ends (a revoked role's session, a restart) emits 'error' on the
  // client; unheard, that would crash the test process instead of failing the query.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether the login is accepted. False only when the server refuses the credentials; a server that
 * does not answer throws, so a test that expects "no longer works" cannot pass on an outage.
 */
export async function canLogIn(login: PostgresLogin): Promise<boolean> {
  try {
    return await withClient(login, async (client) => {
      await client.query('select 1');
      return true;
    });
  } catch (error) {
    if (isRefusedLogin(error)) return false;
    throw error;
  }
}

/** The rows of one query, as `as` (the stack's superuser by default); `$1`-style parameters. */
export async function query<R extends QueryResultRow = Record<string, unknown>>(
  text: string,
  values: readonly unknown[] = [],
  as?: PostgresLogin,
): Promise<R[]> {
  return withClient(as, async (client) => (await client.query<R>(text, [...values])).rows);
}
