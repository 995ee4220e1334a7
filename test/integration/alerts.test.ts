// The chart's PrometheusRule, as Prometheus's own tool sees it: the rules rendered by helm (with
// the defaults, and with the audit stream on so that every alert is there) pass `promtool check
// rules`, and `promtool test rules` runs test/alerts/rules.test.yaml against them: each alert
// fires when its condition has held for its `for`, and a healthy operator is quiet.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { testStack } from '../support/stack.ts';

const exec = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..', '..');
const rulesTests = join(repoRoot, 'test', 'alerts', 'rules.test.yaml');
const azureRulesTests = join(repoRoot, 'test', 'alerts', 'azure-rules.test.yaml');
/** The chart with backend azure-kv, as a user would set it. */
const azureBackend = [
  'backend=azure-kv',
  'azureKeyVault.name=payments',
  'azureKeyVault.tenantId=t',
  'azureKeyVault.clientId=c',
];

interface Rendered {
  readonly kind: string;
  readonly spec?: { readonly groups: readonly { readonly rules: readonly { alert?: string }[] }[] };
}

/** The rule groups of the chart's PrometheusRule, rendered with `set`. */
async function renderedGroups(...set: string[]): Promise<NonNullable<Rendered['spec']>['groups']> {
  const { state } = await testStack();
  const { stdout } = await exec(state.binaries.helm, [
    'template',
    'sm',
    join(repoRoot, 'charts', 'secrets-manager'),
    '--set',
    'metrics.prometheusRule.enabled=true',
    ...set.flatMap((s) => ['--set', s]),
  ]);
  const rule = parseAllDocuments(stdout)
    .map((d) => d.toJS() as Rendered | null)
    .find((o) => o?.kind === 'PrometheusRule');
  assert.ok(rule?.spec, 'the chart renders a PrometheusRule');
  return rule.spec.groups;
}

/** A folder with the rendered rules as rules.yaml and the unit tests beside them. */
async function rulesDir(t: TestContext, groups: unknown, tests = rulesTests): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'alerts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'rules.yaml'), JSON.stringify({ groups }, null, 2));
  await copyFile(tests, join(dir, 'rules.test.yaml'));
  return dir;
}

async function promtool(dir: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  const { state } = await testStack();
  try {
    const { stdout, stderr } = await exec(state.binaries.promtool, args, { cwd: dir });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

test('the rendered rules pass promtool check rules, and every alert passes its promtool unit tests', async (t) => {
  const groups = await renderedGroups('vault.audit.port=9090');
  const dir = await rulesDir(t, groups);
  const check = await promtool(dir, ['check', 'rules', 'rules.yaml']);
  assert.equal(check.code, 0, check.output);
  assert.match(check.output, /SUCCESS: 9 rules found/);
  const run = await promtool(dir, ['test', 'rules', 'rules.test.yaml']);
  assert.equal(run.code, 0, run.output);
  assert.match(run.output, /SUCCESS/);
});

test("with backend azure-kv: Key Vault's unreachable alert instead of Vault's, and no audit stream alert", async (t) => {
  const groups = await renderedGroups(...azureBackend, 'vault.audit.port=9090');
  const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert ?? ''));
  assert.ok(alerts.includes('SecretsManagerAzureKeyVaultUnreachable'));
  assert.ok(!alerts.includes('SecretsManagerVaultUnreachable'));
  assert.ok(!alerts.includes('SecretsManagerAuditStreamDown'), 'no stream for this backend: its gauge is 0');
  const dir = await rulesDir(t, groups, azureRulesTests);
  const check = await promtool(dir, ['check', 'rules', 'rules.yaml']);
  assert.equal(check.code, 0, check.output);
  const run = await promtool(dir, ['test', 'rules', 'rules.test.yaml']);
  assert.equal(run.code, 0, run.output);
});

test('the unit tests catch an alert whose condition no longer fires', async (t) => {
  // The sync alert made to wait an hour: its test at 16 minutes must fail.
  const groups = await renderedGroups('vault.audit.port=9090', 'metrics.prometheusRule.syncFailingFor=1h');
  const dir = await rulesDir(t, groups);
  const run = await promtool(dir, ['test', 'rules', 'rules.test.yaml']);
  assert.notEqual(run.code, 0, 'promtool test rules passed a broken alert');
  assert.match(run.output, /SecretsManagerSyncFailing/);
});

test('every alert of the chart has a unit test that fires it', async () => {
  const alerts = [
    ...(await renderedGroups('vault.audit.port=9090')),
    ...(await renderedGroups(...azureBackend)),
  ].flatMap((g) => g.rules.map((r) => r.alert ?? ''));
  const cases = await Promise.all(
    [rulesTests, azureRulesTests].map(
      async (file) =>
        parseAllDocuments(await readFile(file, 'utf8'))[0]?.toJS() as {
          tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
        },
    ),
  );
  const tests = { tests: cases.flatMap((c) => c.tests) };
  const fired = new Set(
    tests.tests.flatMap((c) =>
      (c.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
    ),
  );
  assert.deepEqual(
    alerts.filter((a) => !fired.has(a)),
    [],
    'alerts no test fires',
  );
});
