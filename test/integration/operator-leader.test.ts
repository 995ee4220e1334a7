// Two replicas with leader election: only the leader writes, a killed leader is replaced within
// the lease duration, and a leader that is frozen or cut off from the apiserver stops leading
// before anyone else can take over, so two leaders never write at once.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { http } from '../harness/http.ts';
import { writeTokenKubeconfig } from '../harness/kube.ts';
import {
  applyDefinition,
  putKv2,
  readDefinition,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
  type RunningOperator,
} from '../support/operator.ts';
import { metricSum } from '../support/metrics.ts';
import { freshNamespace, testStack, waitFor } from '../support/stack.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

/** The election Lease of `ns`: its holder, and its times in epoch ms. */
async function lease(ns: string): Promise<{ holder: string; renewedAt: number; acquiredAt: number }> {
  const { kubeConfig } = await testStack();
  const current = await kubeConfig
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ namespace: ns, name: '5ac9a181.secrets-manager.tuenti.io' });
  const ms = (time: unknown): number => (time instanceof Date ? time.getTime() : Date.parse(String(time)));
  return {
    holder: current.spec?.holderIdentity ?? '',
    renewedAt: ms(current.spec?.renewTime),
    acquiredAt: ms(current.spec?.acquireTime),
  };
}

async function leads(operator: RunningOperator): Promise<boolean> {
  return metricSum(await operator.metrics(), 'secrets_manager_leader') === 1;
}

test('with leader election only the leader writes, and killing it hands over within the lease duration', async (t) => {
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/app`, { v: 'one' });
  const election = [
    `--watch-namespaces=${ns}`,
    '--enable-leader-election',
    `--leader-election-namespace=${ns}`,
    '--leader-election-lease-duration=4s',
  ];
  const first = await startOperator(t, { args: election });
  await waitReady(first);
  await waitFor('the first instance to lead', async () => ((await leads(first)) ? true : undefined));
  const firstHolder = (await lease(ns)).holder;
  const second = await startOperator(t, { args: election });
  await waitReady(second);

  await applyDefinition(ns, 'app', {
    name: 'app',
    refreshInterval: '1s',
    keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
  });
  await waitForReady(ns, 'app', 'True');
  const standby = await second.metrics();
  assert.equal(metricSum(standby, 'secrets_manager_leader'), 0);
  const masterStatus = 'leader_election_master_status{name="5ac9a181.secrets-manager.tuenti.io"}';
  assert.equal(metricSum(standby, masterStatus), 0);
  assert.match(standby, new RegExp(`^${masterStatus.replace(/[.{}]/g, '\\$&')} 0$`, 'm'));
  assert.equal(metricSum(await first.metrics(), masterStatus), 1);
  assert.doesNotMatch(standby, /^secrets_manager_secret_writes_total\{/m, 'the standby wrote no Secret');
  assert.doesNotMatch(
    standby,
    /^secrets_manager_vault_requests_total\{operation="read"/m,
    'the standby read nothing from Vault',
  );

  first.process.kill('SIGKILL');
  // The handover as the Lease records it, not as this test's polling sees it on a busy machine:
  // from the killed leader's last renewal to the new holder's acquisition.
  const lastRenewal = await lease(ns);
  assert.equal(lastRenewal.holder, firstHolder);
  await waitFor(
    'the second instance to lead',
    async () => ((await leads(second)) ? true : undefined),
    10_000,
  );
  const taken = await lease(ns);
  assert.notEqual(taken.holder, firstHolder);
  const handover = taken.acquiredAt - lastRenewal.renewedAt;
  // The lease (4 s) from the last renewal, and at most two retry periods (571 ms) to notice.
  assert.ok(
    handover >= 4_000 && handover <= 4_000 + 2 * 571 + 300,
    `the Lease changed hands ${handover}ms after its last renewal`,
  );

  await putKv2(`secret/${ns}/app`, { v: 'two' });
  await waitForSecretValue(ns, 'app', 'v', 'two', 5_000);
});

/** Kubernetes requests the operator sent that were not reads (rest_client_requests_total). */
function writesSent(metrics: string): number {
  return metrics
    .split('\n')
    .filter((line) => /^rest_client_requests_total\{[^}]*method="(POST|PUT|PATCH|DELETE)"/.test(line))
    .reduce((total, line) => total + Number(line.split(' ').pop()), 0);
}

/** The resourceVersion of every Secret in `ns` and of its definitions a, b, c, and how many Events it holds. */
async function writtenState(ns: string): Promise<string> {
  const { core } = await testStack();
  const secrets = await core.listNamespacedSecret({ namespace: ns });
  const definitions = await Promise.all(['a', 'b', 'c'].map((name) => readDefinition(ns, name)));
  const events = await core.listNamespacedEvent({ namespace: ns });
  return JSON.stringify({
    secrets: secrets.items.map((x) => `${x.metadata?.name}@${x.metadata?.resourceVersion}`).sort(),
    definitions: definitions.map(
      (x) => `${String(x.metadata['name'])}@${String(x.metadata['resourceVersion'])}`,
    ),
    events: events.items.length,
  });
}

test('a standby is hot: its caches synced and its /readyz saying so while it waits; once it leads it verifies every definition without a write', async (t) => {
  const ns = await freshNamespace(t);
  const paths = ['a', 'b', 'c'];
  for (const p of paths) await putKv2(`secret/${ns}/${p}`, { v: p });
  const first = await startOperator(t, { args: electionArgs(ns) });
  await waitReady(first);
  await leadingSince(first, 10_000);
  for (const p of paths)
    await applyDefinition(ns, p, { name: p, keysMap: { v: { path: `secret/${ns}/${p}`, key: 'v' } } });
  for (const p of paths) await waitForReady(ns, p, 'True');

  const second = await startOperator(t, { args: electionArgs(ns) });
  await waitReady(second);
  assert.equal((await http(`${second.metricsUrl}/readyz`)).body, 'standby: caches synced, waiting to lead\n');
  // /readyz reads the informers; the log line is written after them and reaches the pipe later.
  await waitFor('the standby to log its synced caches', async () =>
    /"definitions":3,"level":"info","message":"caches synced"/.test(second.logs()) ? true : undefined,
  );
  const waiting = await second.metrics();
  assert.doesNotMatch(waiting, /^secrets_manager_vault_requests_total\{operation="read"/m);
  assert.equal(writesSent(waiting), 0, 'the standby sent no write, not even to the Lease');
  const before = await writtenState(ns);

  first.process.kill('SIGKILL');
  await leadingSince(second, 15_000);
  // Every path read by the new leader, and nothing written: the Secrets were in sync.
  await waitFor('the new leader to read every path', async () =>
    metricSum(await second.metrics(), 'secrets_manager_vault_requests_total{operation="read"') >= 3
      ? true
      : undefined,
  );
  await waitFor('the three definitions to be reconciled', async () =>
    metricSum(
      await second.metrics(),
      'controller_runtime_reconcile_total{controller="SecretDefinition",result="success"',
    ) >= 3
      ? true
      : undefined,
  );
  assert.equal(await writtenState(ns), before);
  assert.equal(
    second.logs().match(/"message":"caches synced"/g)?.length,
    1,
    'the caches were not synced again',
  );
});

/** How many Secret writes the operator logged ("secret synced": a create or an update). */
function syncedLines(operator: RunningOperator): number {
  return operator
    .logs()
    .split('\n')
    .filter((line) => line.includes('"message":"secret synced"') || line.includes('"msg":"secret synced"'))
    .length;
}

function electionArgs(ns: string): string[] {
  return [
    `--watch-namespaces=${ns}`,
    '--enable-leader-election',
    `--leader-election-namespace=${ns}`,
    '--leader-election-lease-duration=4s',
  ];
}

/** When the operator exits, by the test's clock, and with which code; its output is all read by then. */
function exitOf(operator: RunningOperator): Promise<{ at: number; code: number | null }> {
  return new Promise((resolve) => {
    operator.process.once('exit', (code) => {
      const at = Date.now();
      operator.process.once('close', () => resolve({ at, code }));
    });
  });
}

/** The time the operator is first seen leading (polled every 50 ms). */
async function leadingSince(operator: RunningOperator, timeoutMs: number): Promise<number> {
  return waitFor(
    'the instance to lead',
    async () => ((await leads(operator)) ? Date.now() : undefined),
    timeoutMs,
    50,
  );
}

async function kubeconfigThrough(t: TestContext, port: number): Promise<string> {
  const { state } = await testStack();
  const dir = await mkdtemp(join(tmpdir(), 'proxy-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'kubeconfig');
  await writeTokenKubeconfig(file, `https://127.0.0.1:${port}`, state.kube.caFile, state.kube.adminToken);
  return file;
}

test('a leader whose apiserver connection hangs stops leading, and exits, before the other can take over', async (t) => {
  const ns = await freshNamespace(t);
  const { state } = await testStack();
  const apiserver = new URL(state.kube.server);
  const proxy = await startTcpProxy({ host: apiserver.hostname, port: Number(apiserver.port) });
  t.after(() => proxy.close());
  const first = await startOperator(t, {
    args: [...electionArgs(ns), `--kubeconfig=${await kubeconfigThrough(t, proxy.port)}`],
  });
  await waitReady(first);
  await leadingSince(first, 10_000);
  const second = await startOperator(t, { args: electionArgs(ns) });
  await waitReady(second);
  const firstExit = exitOf(first);

  proxy.freeze();
  const frozenAt = Date.now();
  const takeover = await leadingSince(second, 15_000);
  const exit = await firstExit;
  const timeline = `frozen at ${new Date(frozenAt).toISOString()}; the cut-off leader's log:\n${first
    .logs()
    .split('\n')
    .filter((l) => /leader|stopp|lost|Lease/i.test(l))
    .join('\n')}`;
  assert.notEqual(exit.code, 0, 'a leader that lost its Lease exits non-zero');
  assert.ok(
    exit.at < takeover,
    `the cut-off leader exited ${exit.at - frozenAt}ms after the freeze, the other led after ${takeover - frozenAt}ms; ${timeline}`,
  );
  assert.ok(exit.at - frozenAt <= 4_000, `the cut-off leader held on for ${exit.at - frozenAt}ms (lease 4s)`);
  assert.match(first.logs(), /lost leadership; stopping so that only the leader writes/);
});

test('a frozen leader (SIGSTOP) is replaced, and once thawed it sees it lost and exits without writing', async (t) => {
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/app`, { v: 'one' });
  const first = await startOperator(t, { args: electionArgs(ns) });
  await waitReady(first);
  await leadingSince(first, 10_000);
  const second = await startOperator(t, { args: electionArgs(ns) });
  await waitReady(second);
  await applyDefinition(ns, 'app', {
    name: 'app',
    refreshInterval: '1s',
    keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } },
  });
  await waitForSecretValue(ns, 'app', 'v', 'one');
  // Its log reaches us a moment after the Secret reaches the apiserver.
  const writesBefore = await waitFor('the first leader to log its write', async () =>
    syncedLines(first) === 1 ? 1 : undefined,
  );

  first.process.kill('SIGSTOP');
  const frozenAt = Date.now();
  t.after(() => void first.process.kill('SIGCONT'));
  const takeover = await leadingSince(second, 15_000);
  assert.ok(takeover - frozenAt <= 4_000 + 2_000, `takeover after ${takeover - frozenAt}ms (lease 4s)`);
  await putKv2(`secret/${ns}/app`, { v: 'two' });
  await waitForSecretValue(ns, 'app', 'v', 'two', 5_000);

  const firstExit = exitOf(first);
  first.process.kill('SIGCONT');
  const thawedAt = Date.now();
  const exit = await firstExit;
  assert.notEqual(exit.code, 0);
  assert.ok(exit.at - thawedAt <= 3_000, `the thawed leader took ${exit.at - thawedAt}ms to stop`);
  assert.match(first.logs(), /lost leadership/);
  assert.equal(syncedLines(first), writesBefore, 'the thawed leader wrote no Secret');
});
