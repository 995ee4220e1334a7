// `npm run bench`: the benchmark on a fresh local stack, with the built operator. Prints one table
// (every time also as a ratio to the floor measured in the same run) and writes JSON.
//
//   npm run bench -- --n 10000 --paths 5000 --namespaces 10 --interval 30 --rotate 100 --json out.json --svg out.svg
//   npm run bench -- --n 1000 --operator-arg=--vault.qps=100   (operator flags, one per option)
//   npm run bench -- --n 1000 --interval 600 --steady 1 --audit-stream --paced 50   (changes through OpenBao's audit stream)

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startStack, stopStack } from '../test/harness/stack.ts';
import { runBench, type BenchResult, type Rotation, type StackCpu } from './benchmark.ts';
import { renderSyncChart } from './chart.ts';

const repoRoot = join(import.meta.dirname, '..');

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    paths: { type: 'string' },
    namespaces: { type: 'string', default: '10' },
    interval: { type: 'string', default: '30' },
    rotate: { type: 'string', default: '100' },
    /** Paths changed one at a time after the burst (the latency of one change); 0: none. */
    paced: { type: 'string', default: '0' },
    'paced-gap': { type: 'string', default: '200' },
    steady: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    json: { type: 'string' },
    /** The picture of the sync against the floors, as SVG. */
    svg: { type: 'string' },
    source: { type: 'boolean', default: false },
    /** The operator follows OpenBao's audit stream (--vault.audit-listen at the stack's relay). */
    'audit-stream': { type: 'boolean', default: false },
    /** A flag for the operator, as it would be typed: --operator-arg=--vault.qps=100; repeatable. */
    'operator-arg': { type: 'string', multiple: true },
  },
});

function whole(name: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`bench: --${name} must be a whole number of at least ${min}, not ${String(text)}\n`);
    process.exit(2);
  }
  return value;
}

const n = whole('n', values.n, 1);
const options = {
  n,
  paths: whole('paths', values.paths ?? String(Math.max(1, Math.floor(n / 2))), 1),
  namespaces: whole('namespaces', values.namespaces, 1),
  intervalSeconds: whole('interval', values.interval, 1),
  rotate: whole('rotate', values.rotate, 0),
  paced: whole('paced', values.paced, 0),
  pacedGapMs: whole('paced-gap', values['paced-gap'], 0),
  steadyIntervals: whole('steady', values.steady, 1),
  concurrency: whole('concurrency', values.concurrency, 1),
  entry: values.source ? join(repoRoot, 'src', 'main.ts') : join(repoRoot, 'dist', 'main.js'),
  extraArgs: values['operator-arg'] ?? [],
  log: (line: string) => void process.stderr.write(`[bench] ${line}\n`),
};

function stack(cpu: StackCpu): string {
  return `apiserver ${cpu.apiserver.toFixed(1)}, etcd ${cpu.etcd.toFixed(1)}, OpenBao ${cpu.openbao.toFixed(1)}`;
}

function rotationRow(measure: string, rotation: Rotation): [string, string, string] {
  return [
    measure,
    `p50 ${rotation.p50.toFixed(2)} s, p99 ${rotation.p99.toFixed(2)} s`,
    `max ${rotation.max.toFixed(2)} s over ${rotation.changed} Secrets; ${rotation.readsPerChange.toFixed(2)} Vault reads per changed path`,
  ];
}

function table(result: BenchResult): string {
  const ratio = (seconds: number): string => `${(seconds / result.floorSeconds).toFixed(2)} x floor`;
  const rows: [string, string, string][] = [
    ['floor: N plain Secrets created directly', `${result.floorSeconds.toFixed(2)} s`, '1.00 x floor'],
    [
      'definition floor: N definitions, Secrets and status patches made directly',
      `${result.definitionFloorSeconds.toFixed(2)} s`,
      ratio(result.definitionFloorSeconds),
    ],
    ['N definitions to all Secrets correct', `${result.syncSeconds.toFixed(2)} s`, ratio(result.syncSeconds)],
    ['N definitions to all Ready=True', `${result.readySeconds.toFixed(2)} s`, ratio(result.readySeconds)],
    [
      'Vault requests to reach sync',
      String(
        result.syncVault.logins +
          result.syncVault.mountLookups +
          result.syncVault.reads +
          result.syncVault.other,
      ),
      `${result.syncVault.logins} logins, ${result.syncVault.mountLookups} mount lookups, ${result.syncVault.reads} reads of ${result.syncVault.distinctPaths} paths, ${result.syncVault.other} other`,
    ],
    [
      'apiserver requests per definition, first sync',
      `${(result.syncApiserver.writes / result.options.n).toFixed(2)} writes, ${(result.syncApiserver.reads / result.options.n).toFixed(2)} reads`,
      `${result.syncApiserver.writesBy.secrets} Secret, ${result.syncApiserver.writesBy.secretdefinitions} status, ${result.syncApiserver.writesBy.events} Event writes; ${result.syncApiserver.reads} GETs of one Secret`,
    ],
    ['operator CPU seconds to reach sync', result.syncCpuSeconds.toFixed(1), ''],
    ['stack CPU seconds during the floor', stack(result.floorStackCpu), ''],
    ['stack CPU seconds during the sync', stack(result.syncStackCpu), ''],
    [
      'steady Vault reads per interval per path',
      result.steady.readsPerIntervalPerPath.toFixed(2),
      `over ${result.steady.seconds.toFixed(0)} s`,
    ],
    ['steady Kubernetes writes', String(result.steady.kubeWrites), ''],
    rotationRow(`rotation: ${result.rotation.paths} paths at once, Vault change to Secret`, result.rotation),
    ...(result.pacedRotation
      ? [
          rotationRow(
            `paced: ${result.pacedRotation.paths} paths ${result.options.pacedGapMs} ms apart, Vault change to Secret`,
            result.pacedRotation,
          ),
        ]
      : []),
    [
      'restart to every path verified',
      `${result.restart.verifiedSeconds.toFixed(2)} s`,
      ratio(result.restart.verifiedSeconds),
    ],
    [
      'Kubernetes writes on restart',
      String(result.restart.kubeWrites),
      `${result.restart.reads} Vault reads`,
    ],
    [
      'failover: leader SIGKILLed to every path verified',
      `${result.failover.verifiedSeconds.toFixed(2)} s`,
      `lease ${result.failover.leaseSeconds} s; the standby said "${result.failover.standbyReady}"`,
    ],
    ['Kubernetes writes on failover', String(result.failover.kubeWrites), ''],
    ['SIGTERM to exit', `${result.shutdownSeconds.toFixed(2)} s`, ''],
    [
      'peak RSS',
      `${result.peakRssMiB.toFixed(0)} MiB`,
      `to sync ${result.peakRssByPhaseMiB.sync.toFixed(0)}, first run ${result.peakRssByPhaseMiB.firstRun.toFixed(0)}, restart ${result.peakRssByPhaseMiB.restart.toFixed(0)}`,
    ],
    ['operator CPU seconds, whole run', result.cpuSeconds.toFixed(1), ''],
  ];
  const width = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
  const line = (r: string[]): string => `| ${r.map((cell, c) => cell.padEnd(width[c] ?? 0)).join(' | ')} |`;
  return [
    `N=${result.options.n} definitions, ${result.options.paths} paths, ${result.options.namespaces} namespaces, interval ${result.options.intervalSeconds}s` +
      (result.options.extraArgs?.length ? `, operator flags: ${result.options.extraArgs.join(' ')}` : ''),
    line(['measure', 'value', 'detail']),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

if (!values.source) {
  options.log('building the operator (npm run build)');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
}
const dir = join(tmpdir(), `secrets-manager-bench-${process.pid}-${randomBytes(3).toString('hex')}`);
const state = await startStack(dir, { report: options.log });
try {
  const result = await runBench(state, {
    ...options,
    extraArgs: [
      ...options.extraArgs,
      ...(values['audit-stream'] ? [`--vault.audit-listen=${state.vault.auditSocketAddr}`] : []),
    ],
  });
  process.stdout.write(`${table(result)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
  if (values.svg) await writeFile(values.svg, await renderSyncChart(result));
} finally {
  await stopStack(dir);
}
