// What users see of the operator through a real Prometheus: it scrapes the operator as the chart's
// ServiceMonitor has prometheus-operator do it; the test syncs, breaks and rotates definitions,
// and then asks Prometheus for the original's series and ours, with the values those events imply,
// and runs every query of the Grafana dashboard: none may fail to parse or come back empty.
// The chart's alerts are unit-tested with promtool in alerts.test.ts.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPrometheus, type PromSample, type RunningPrometheus } from '../harness/prometheus.ts';
import {
  applyDefinition,
  putKv2,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, kubectl, testStack, waitFor } from '../support/stack.ts';
import { waitRevisions, workload } from '../support/workloads.ts';

const dashboardFile = join(
  import.meta.dirname,
  '..',
  '..',
  'charts',
  'secrets-manager',
  'dashboards',
  'secrets-manager.json',
);
/** The namespace and job prometheus-operator would give the operator's series. */
const operatorLabels = { namespace: 'secrets-manager', job: 'secrets-manager' };

interface DashboardPanel {
  readonly title: string;
  readonly targets: readonly { readonly expr: string }[];
}

/**
 * A panel query as Grafana would send it: every job, and a rate window of 5 minutes (Grafana's
 * $__rate_interval over a dashboard's hours is minutes), so everything since the start counts.
 */
function asSent(expr: string): string {
  return expr.replaceAll('$job', '.+').replaceAll('$__rate_interval', '5m');
}

/** Waits until `expr` answers, per series key (`label` values joined), the values wanted. */
async function waitValues(
  prometheus: RunningPrometheus,
  expr: string,
  wanted: (samples: readonly PromSample[]) => boolean,
): Promise<PromSample[]> {
  return waitFor(
    `Prometheus: ${expr}`,
    async () => {
      const samples = await prometheus.query(expr);
      return wanted(samples) ? samples : undefined;
    },
    60_000,
  );
}

test('Prometheus scrapes the original series and ours with the values the events imply, and every dashboard query answers', async (t) => {
  const { state } = await testStack();
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/db`, { password: 'one' });
  await kubectl(['apply', '-n', ns, '-f', '-'], workload('Deployment', 'app', 'db', false));
  await waitRevisions(ns, 'Deployment', 'app', 1);

  const operator = await startOperator(t, {
    args: [`--watch-namespaces=${ns}`, '--rollout-restart', '--rollout-restart-interval=1s'],
  });
  await waitReady(operator);
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
  const prometheus = await startPrometheus(state.binaries.prometheus, dir, [
    { address: new URL(operator.metricsUrl).host, labels: operatorLabels },
  ]);
  t.after(async () => {
    await prometheus.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // Prometheus hands its targets to the scrapers some seconds after it is ready: what happens
  // before the first scrape would be in every sample, and no rate would see it.
  await waitValues(prometheus, 'up{job="secrets-manager"}', (s) => s.length === 1 && s[0]?.value === 1);

  await applyDefinition(ns, 'db', {
    name: 'db',
    refreshInterval: '1s',
    keysMap: { password: { path: `secret/${ns}/db`, key: 'password' } },
    rolloutRestartTargets: [{ kind: 'Deployment', name: 'app' }],
  });
  await applyDefinition(ns, 'missing', {
    name: 'missing',
    keysMap: { password: { path: `secret/${ns}/nothing-here`, key: 'password' } },
  });
  await waitForReady(ns, 'db', 'True');
  await waitForReady(ns, 'missing', 'False');
  await putKv2(`secret/${ns}/db`, { password: 'two' });
  await waitForSecretValue(ns, 'db', 'password', 'two', 10_000);
  await waitRevisions(ns, 'Deployment', 'app', 2);

  const one = (samples: readonly PromSample[], value: number): boolean =>
    samples.length === 1 && samples[0]?.value === value;
  // The original's series: per definition, with the definition's own namespace (honor_labels).
  await waitValues(
    prometheus,
    `secrets_manager_controller_last_sync_status{namespace="${ns}",name="db"}`,
    (s) => one(s, 1),
  );
  await waitValues(
    prometheus,
    `secrets_manager_controller_last_sync_status{namespace="${ns}",name="missing"}`,
    (s) => one(s, 0),
  );
  await waitValues(
    prometheus,
    `secrets_manager_controller_sync_errors_total{namespace="${ns}",name="missing"}`,
    (s) => s.length === 1 && (s[0]?.value ?? 0) >= 1,
  );
  await waitValues(
    prometheus,
    `sum(secrets_manager_controller_sync_errors_total{namespace="${ns}",name="db"})`,
    (s) => s.length === 0 || one(s, 0),
  );
  const readErrors = await waitValues(
    prometheus,
    `secrets_manager_vault_read_secret_errors_total{path="secret/${ns}/nothing-here"}`,
    (s) => s.length === 1 && (s[0]?.value ?? 0) >= 1,
  );
  assert.equal(readErrors[0]?.metric['key'], 'password');
  assert.equal(readErrors[0]?.metric['namespace'], operatorLabels.namespace, "the operator's own namespace");
  const ttl = await waitValues(prometheus, 'secrets_manager_vault_token_ttl', (s) => s.length === 1);
  assert.ok((ttl[0]?.value ?? 0) > 0, 'the token has time left');
  await waitValues(
    prometheus,
    'secrets_manager_vault_max_token_ttl',
    (s) => s.length === 1 && (s[0]?.value ?? 0) > 0,
  );
  // Ours: the reasons of the two definitions, one restart, one leader, one write of each kind.
  await waitValues(prometheus, 'secrets_manager_definitions{reason="Synced"}', (s) => one(s, 1));
  await waitValues(prometheus, 'secrets_manager_definitions{reason="PathNotFound"}', (s) => one(s, 1));
  await waitValues(prometheus, 'secrets_manager_rollout_restarts_total{kind="Deployment"}', (s) => one(s, 1));
  await waitValues(prometheus, 'secrets_manager_leader', (s) => one(s, 1));
  await waitValues(prometheus, 'secrets_manager_secret_writes_total{operation="create"}', (s) => one(s, 1));
  await waitValues(prometheus, 'secrets_manager_secret_writes_total{operation="update"}', (s) => one(s, 1));
  await waitValues(prometheus, 'up{job="secrets-manager"}', (s) => one(s, 1));

  // Every query of every panel parses and has data; a failing one names its panel.
  const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as { panels: DashboardPanel[] };
  assert.ok(dashboard.panels.length >= 12, 'the panels a person on call wants');
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, `${panel.title}: a panel with no query`);
    for (const { expr } of panel.targets) {
      const samples = await waitFor(
        `panel "${panel.title}": ${expr}`,
        async () => {
          const answer = await prometheus.query(asSent(expr));
          if (answer.length > 0 && answer.every((s) => Number.isFinite(s.value))) return answer;
          // Kept as the last error, so a timeout shows what the panel would have shown.
          throw new Error(`answered ${JSON.stringify(answer)}`);
        },
        60_000,
      );
      assert.ok(samples.length > 0);
    }
  }
  // The panels count what happened: the two definitions, the failing one, the leader.
  const byTitle = async (title: string): Promise<PromSample[]> => {
    const panel = dashboard.panels.find((p) => p.title === title);
    assert.ok(panel, title);
    return prometheus.query(asSent(panel.targets[0]?.expr ?? ''));
  };
  assert.equal((await byTitle('Definitions'))[0]?.value, 2);
  assert.equal((await byTitle('Not in sync'))[0]?.value, 1);
  assert.equal((await byTitle('Leader'))[0]?.value, 1);
  assert.deepEqual(
    (await byTitle('Definitions by Ready reason')).map((s) => [s.metric['reason'], s.value]).sort(),
    [
      ['PathNotFound', 1],
      ['Synced', 1],
    ],
  );
});

test('a query that does not parse is refused, not taken for an empty panel', async (t) => {
  const { state } = await testStack();
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
  const prometheus = await startPrometheus(state.binaries.prometheus, dir, []);
  t.after(async () => {
    await prometheus.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await assert.rejects(prometheus.query('sum(rate(x[5m])'), /Prometheus refused/);
  assert.deepEqual(await prometheus.query('secrets_manager_leader'), []);
});
