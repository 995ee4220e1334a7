// Dynamic credentials on the real stack: OpenBao's database engine makes PostgreSQL roles, the
// operator writes them to a Secret, renews their lease by its own clock, issues new ones before
// the max TTL ends (restarting the consumers once), revokes the old lease after the grace period,
// takes up the lease after its own restart without issuing, and revokes on delete. PostgreSQL
// itself says whether each set of credentials works.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditEntriesSince, auditMark } from '../support/audit.ts';
import { issuingRole, mountDatabase, requestKind } from '../support/engines.ts';
import { metricSum } from '../support/metrics.ts';
import {
  applyDefinition,
  deleteDefinition,
  putKv2,
  readDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import { canLogIn, query } from '../support/postgres.ts';
import { freshNamespace, kubectl, testStack, waitFor } from '../support/stack.ts';
import { revisions, waitRevisions, workload } from '../support/workloads.ts';

interface Credentials {
  readonly user: string;
  readonly password: string;
}

async function heldCredentials(ns: string): Promise<(Credentials & { dsn: string }) | undefined> {
  const data = await secretData(ns, 'app-db');
  if (!data?.['username'] || !data['password'] || !data['dsn']) return undefined;
  return { user: data['username'], password: data['password'], dsn: data['dsn'] };
}

/** Requests of `role` at paths of this kind since `mark`. */
async function requestsSince(mark: number, role: string, kind: string): Promise<number> {
  return (await auditEntriesSince(mark)).filter(
    (e) => e.type === 'request' && e.role === role && requestKind(e.path) === kind,
  ).length;
}

describe('dynamic credentials', () => {
  test('log in; renewed; replaced near the max TTL with one restart; the old user ends after the grace period; a restart issues nothing; delete ends the user', async (t) => {
    const ns = await freshNamespace(t, 'dyn');
    const mount = `db-${ns}`;
    // A lease of 20s that can be renewed up to 60s after its issue.
    await mountDatabase(mount, { defaultTtl: '20s', maxTtl: '60s' });
    const credsPath = `${mount}/creds/app`;
    const role = `dyn-${ns}`;
    const credentials = await issuingRole(
      role,
      [
        `path "${credsPath}" { capabilities = ["read"] }`,
        // Renewing and revoking only this role's leases: the lease id is in the request path.
        `path "sys/leases/renew/${credsPath}/*" { capabilities = ["update"] }`,
        `path "sys/leases/revoke/${credsPath}/*" { capabilities = ["update"] }`,
        `path "secret/data/${ns}/*" { capabilities = ["read"] }`,
      ].join('\n'),
    );
    const { state } = await testStack();
    await putKv2(`secret/${ns}/db`, { host: state.postgres.host, port: String(state.postgres.port) });
    await kubectl(['apply', '-n', ns, '-f', '-'], workload('Deployment', 'app', 'app-db', false));
    await waitRevisions(ns, 'Deployment', 'app', 1);

    const mark = await auditMark();
    const args = [
      `--watch-namespaces=${ns}`,
      '--rollout-restart',
      '--rollout-restart-interval=1s',
      '--lease-revoke-grace=4s',
      // Tokens renewed for 10s at a time: one left behind by a restart ends within 10s unless
      // the next process renews it (it is kept in the Secret lease-tokens of this namespace).
      '--vault.renew-ttl-increment=10',
      `--leader-election-namespace=${ns}`,
      '--lease-token-secret=lease-tokens',
    ];
    const env = { VAULT_ROLE_ID: credentials.roleId, VAULT_SECRET_ID: credentials.secretId };
    let operator: RunningOperator = await startOperator(t, { args, env });
    await waitReady(operator);
    await applyDefinition(ns, 'app', {
      name: 'app-db',
      dynamic: { path: credsPath, renewPercent: 50 },
      keysMap: {
        host: { path: `secret/${ns}/db`, key: 'host' },
        port: { path: `secret/${ns}/db`, key: 'port' },
      },
      template: {
        mergePolicy: 'Merge',
        data: {
          dsn: `postgresql://{{ data.username }}:{{ data.password }}@{{ data.host }}:{{ data.port }}/${state.postgres.database}`,
        },
      },
      rolloutRestartTargets: [{ kind: 'Deployment', name: 'app' }],
    });

    const first = await waitFor('credentials in Secret app-db', () => heldCredentials(ns));
    assert.ok(
      await canLogIn({ user: first.user, password: first.password }),
      'the issued credentials log in',
    );
    assert.ok(await canLogIn(first.dsn), 'the templated DSN logs in');
    await waitForReady(ns, 'app', 'True');
    const issued = (await readDefinition(ns, 'app')).status?.dynamic;
    assert.ok(issued);
    assert.equal(issued.leaseDurationSeconds, 20);
    assert.doesNotMatch(
      JSON.stringify(await readDefinition(ns, 'app')),
      new RegExp(`${credsPath}/|${first.password}`),
    );

    // A renewal extends the lease: the same user, a later end, both in the status.
    const renewed = await waitFor(
      'the lease to be renewed',
      async () => {
        const now = (await readDefinition(ns, 'app')).status?.dynamic;
        return now && Date.parse(now.leaseExpiresAt) > Date.parse(issued.leaseExpiresAt) ? now : undefined;
      },
      20_000,
    );
    assert.equal(renewed.issuedAt, issued.issuedAt);
    assert.equal((await heldCredentials(ns))?.user, first.user);
    assert.ok((await requestsSince(mark, role, `sys/leases/renew/${credsPath}/<lease>`)) >= 1);
    // PostgreSQL's own record of the role: the renewal moved its VALID UNTIL past the first lease's end.
    const [role0] = await query<{ rolvaliduntil: Date }>(
      'select rolvaliduntil from pg_roles where rolname = $1',
      [first.user],
    );
    assert.ok(
      role0 && role0.rolvaliduntil.getTime() > Date.parse(issued.leaseExpiresAt),
      'VALID UNTIL extended',
    );

    // A restarted operator takes up the lease from the Secret and its status: nothing issued.
    assert.equal(await operator.stop(), 0);
    const restartMark = await auditMark();
    operator = await startOperator(t, { args, env });
    await waitReady(operator);
    await waitFor('the restarted operator to take up the lease', async () =>
      metricSum(
        await operator.metrics(),
        `secrets_manager_lease_expiry_timestamp_seconds{namespace="${ns}",name="app"}`,
      ) > 0
        ? true
        : undefined,
    );
    // Two renewals by the new process (about 20s): the old token would have ended by then, and
    // its lease with it, had the new process not kept renewing it.
    await waitFor(
      'two renewals of the lease by the restarted operator',
      async () =>
        (await requestsSince(restartMark, role, `sys/leases/renew/${credsPath}/<lease>`)) >= 2
          ? true
          : undefined,
      40_000,
    );
    assert.equal(await requestsSince(restartMark, role, credsPath), 0, 'the restart issued credentials');
    assert.equal((await heldCredentials(ns))?.user, first.user);
    assert.ok(
      await canLogIn({ user: first.user, password: first.password }),
      'the token left behind keeps the lease alive',
    );
    assert.equal(await revisions(ns, 'Deployment', 'app'), 1, 'the restart restarted nobody');

    // Near the max TTL: new credentials before the old lease ends, one restart, the old user ended after the grace.
    const second = await waitFor(
      'new credentials near the max TTL',
      async () => {
        const now = await heldCredentials(ns);
        return now && now.user !== first.user ? now : undefined;
      },
      60_000,
    );
    assert.ok(await canLogIn({ user: second.user, password: second.password }));
    assert.ok(
      await canLogIn({ user: first.user, password: first.password }),
      'the old user lives through the grace period',
    );
    await waitRevisions(ns, 'Deployment', 'app', 2);
    await waitFor(
      'the old user to stop working',
      async () => ((await canLogIn({ user: first.user, password: first.password })) ? undefined : true),
      20_000,
    );
    assert.equal(
      await requestsSince(mark, role, credsPath),
      2,
      'two issues: the first sync and the replacement',
    );
    assert.ok(
      metricSum(await operator.metrics(), 'secrets_manager_lease_revocations_total{result="success"') >= 1,
    );

    // Deleting the definition revokes its lease: the user stops working.
    await deleteDefinition(ns, 'app');
    await waitFor(
      'the user of the deleted definition to stop working',
      async () => ((await canLogIn({ user: second.user, password: second.password })) ? undefined : true),
      20_000,
    );
    assert.equal(await operator.stop(), 0);

    // What this role sent: the KV and creds reads, lease renewals and revocations, and its token's upkeep.
    const kinds = new Set(
      (await auditEntriesSince(mark)).filter((e) => e.role === role).map((e) => requestKind(e.path)),
    );
    const allowed = new Set([
      'auth/approle/login',
      // The kept token of the first process, looked up and renewed by the second.
      'auth/token/lookup-self',
      'auth/token/renew-self',
      'auth/token/revoke-self',
      `sys/internal/ui/mounts/secret/${ns}/db`,
      `secret/data/${ns}/db`,
      credsPath,
      `sys/leases/renew/${credsPath}/<lease>`,
      `sys/leases/revoke/${credsPath}/<lease>`,
    ]);
    assert.deepEqual(
      [...kinds].filter((k) => !allowed.has(k)),
      [],
    );
    for (const kind of [
      credsPath,
      `sys/leases/renew/${credsPath}/<lease>`,
      `sys/leases/revoke/${credsPath}/<lease>`,
    ])
      assert.ok(kinds.has(kind), kind);
  });

  test('revokeOnDelete: false leaves the credentials working after the definition goes', async (t) => {
    const ns = await freshNamespace(t, 'dyn-keep');
    const mount = `db-${ns}`;
    await mountDatabase(mount, { defaultTtl: '1h', maxTtl: '2h' });
    const credsPath = `${mount}/creds/app`;
    const role = `dyn-${ns}`;
    const credentials = await issuingRole(
      role,
      [
        `path "${credsPath}" { capabilities = ["read"] }`,
        `path "sys/leases/renew/${credsPath}/*" { capabilities = ["update"] }`,
        `path "sys/leases/revoke/${credsPath}/*" { capabilities = ["update"] }`,
      ].join('\n'),
    );
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`],
      env: { VAULT_ROLE_ID: credentials.roleId, VAULT_SECRET_ID: credentials.secretId },
    });
    await waitReady(operator);
    await applyDefinition(ns, 'keep', { name: 'keep', dynamic: { path: credsPath, revokeOnDelete: false } });
    const held = await waitFor('credentials in Secret keep', async () => {
      const data = await secretData(ns, 'keep');
      return data?.['username'] && data['password']
        ? { user: data['username'], password: data['password'] }
        : undefined;
    });
    const mark = await auditMark();
    await deleteDefinition(ns, 'keep');
    await waitFor('the definition to be forgotten', async () =>
      metricSum(
        await operator.metrics(),
        `secrets_manager_lease_expiry_timestamp_seconds{namespace="${ns}",name="keep"}`,
      ) === 0
        ? true
        : undefined,
    );
    assert.equal(await operator.stop(), 0);
    assert.equal(await requestsSince(mark, role, `sys/leases/revoke/${credsPath}/<lease>`), 0);
    assert.ok(await canLogIn(held), 'the credentials outlive their definition and the operator');
  });
});
