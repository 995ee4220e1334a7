// The test stack's PostgreSQL: the commands and URLs it is started and reached with, and the
// wrapper that turns stopDaemon's SIGTERM into PostgreSQL's fast shutdown.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  asAccount,
  initdbArgs,
  postgresArgs,
  postgresSpec,
  postgresState,
  postgresUrl,
  withFastStop,
  type PostgresAccount,
} from '../../harness/postgres.ts';
import { isAlive, startDaemon, stopDaemon } from '../../harness/processes.ts';
import { isRefusedLogin } from '../../support/postgres.ts';
import { waitFor } from '../../support/wait.ts';

const account: PostgresAccount = { name: 'secrets-manager-pg', uid: 999, gid: 995 };
const binaries = { initdb: '/pg/bin/initdb', postgres: '/pg/bin/postgres' };

describe('starting PostgreSQL', () => {
  test('initdb makes a password superuser and asks for passwords over TCP', () => {
    const args = initdbArgs('/s/postgres/data', 'postgres', '/s/postgres/pw');
    assert.ok(args.includes('--pgdata=/s/postgres/data'));
    assert.ok(args.includes('--username=postgres'));
    assert.ok(args.includes('--pwfile=/s/postgres/pw'));
    assert.ok(args.includes('--auth=scram-sha-256'));
  });

  test('the server listens on loopback only, on the given port, without a Unix socket', () => {
    const args = postgresArgs('/s/postgres/data', 45678);
    assert.deepEqual(args.slice(0, 4), ['-D', '/s/postgres/data', '-p', '45678']);
    assert.ok(args.includes('listen_addresses=127.0.0.1'));
    assert.ok(args.includes('unix_socket_directories='));
  });

  test('as root, the command runs as the account with no supplementary groups', () => {
    assert.deepEqual(asAccount('/pg/bin/initdb', ['-x'], account), {
      command: 'setpriv',
      args: ['--reuid=999', '--regid=995', '--clear-groups', '--', '/pg/bin/initdb', '-x'],
    });
    assert.deepEqual(asAccount('/pg/bin/initdb', ['-x'], undefined), {
      command: '/pg/bin/initdb',
      args: ['-x'],
    });
  });

  test("the daemon's spec is the fast-stop shell around setpriv around postgres, logging to logs/", () => {
    const spec = postgresSpec(binaries, { dir: '/s', port: 45678, password: 'p', account });
    assert.equal(spec.name, 'postgres');
    assert.equal(spec.command, 'sh');
    assert.equal(spec.logFile, '/s/logs/postgres.log');
    const wrapped = spec.args.slice(3);
    assert.deepEqual(wrapped.slice(0, 6), [
      'setpriv',
      '--reuid=999',
      '--regid=995',
      '--clear-groups',
      '--',
      '/pg/bin/postgres',
    ]);
    assert.deepEqual(wrapped.slice(6), postgresArgs('/s/postgres/data', 45678));
  });

  test('the URL carries any password intact', () => {
    const password = "p@ss:w/rd?#%'";
    const url = new URL(
      postgresUrl({ host: '127.0.0.1', port: 5432, user: 'u@x', password, database: 'postgres' }),
    );
    assert.equal(url.protocol, 'postgres:');
    assert.equal(url.host, '127.0.0.1:5432');
    assert.equal(decodeURIComponent(url.username), 'u@x');
    assert.equal(decodeURIComponent(url.password), password);
    assert.equal(url.pathname, '/postgres');
  });

  test('the state names the superuser, its password and the URL built from them', () => {
    const state = postgresState({ dir: '/s', port: 45678, password: 'secret', account });
    assert.equal(state.url, 'postgres://postgres:secret@127.0.0.1:45678/postgres');
    assert.equal(state.dataDir, '/s/postgres/data');
    assert.deepEqual(state.account, account);
    assert.equal('account' in postgresState({ dir: '/s', port: 1, password: 'p' }), false);
  });
});

describe('stopping PostgreSQL', () => {
  test('SIGTERM to the wrapper reaches its command as SIGINT, and the wrapper outlives it', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'harness-pg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const record = join(dir, 'record');
    // Like postmaster: ignores SIGTERM (smart shutdown waits), leaves on SIGINT after some work.
    const child = [
      `const fs = require('node:fs');`,
      `fs.writeFileSync(${JSON.stringify(record)}, String(process.pid));`,
      `process.on('SIGTERM', () => {});`,
      `process.on('SIGINT', () => setTimeout(() => { fs.appendFileSync(${JSON.stringify(record)}, ' SIGINT'); process.exit(0); }, 300));`,
      `setInterval(() => {}, 1000);`,
    ].join('\n');
    const { command, args } = withFastStop(process.execPath, ['-e', child]);
    const daemon = startDaemon({ name: 'fake-postgres', command, args, logFile: join(dir, 'log') });
    const childPid = await waitFor(
      'the child to start',
      async () => Number(await readFile(record, 'utf8')) || undefined,
    );

    const started = Date.now();
    await stopDaemon(daemon.pid, 5_000);

    assert.ok(Date.now() - started < 4_000, 'stopped without waiting for the grace period');
    assert.match(await readFile(record, 'utf8'), / SIGINT$/);
    assert.equal(isAlive(childPid), false, 'the wrapper was gone only after its command');
  });
});

describe('logging in', () => {
  test('only a judged refusal counts as "cannot log in"; an unreachable server does not', () => {
    assert.equal(
      isRefusedLogin(Object.assign(new Error('password authentication failed'), { code: '28P01' })),
      true,
    );
    assert.equal(
      isRefusedLogin(Object.assign(new Error('not permitted to log in'), { code: '28000' })),
      true,
    );
    assert.equal(
      isRefusedLogin(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      false,
    );
    assert.equal(isRefusedLogin(new Error('timeout expired')), false);
    assert.equal(isRefusedLogin(undefined), false);
  });
});
