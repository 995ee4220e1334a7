// The benchmark's phases on a running stack: seed Vault, measure the floor, start the operator as
// its own process, apply N definitions and time them to all correct, watch the steady state, rotate,
// restart. Every figure comes from outside the operator (see observe.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import { apiVersion, group, kind, plural, version } from '../src/api/types.ts';
import { kubeApi, mergePatch } from '../src/kube/kube-api.ts';
import { imageEnv, imageNodeOptions } from '../test/support/dockerfile.ts';
import { loadKubeConfig } from '../src/kube/kubeconfig.ts';
import { http } from '../test/harness/http.ts';
import { applyCrd } from '../test/harness/kube.ts';
import { freePorts } from '../test/harness/processes.ts';
import type { StackState } from '../test/harness/stack.ts';
import { VaultAdmin } from '../test/harness/vault.ts';
import {
  apiserverRequests,
  apiserverWrites,
  AuditLog,
  percentile,
  processUsage,
  readyStatus,
  requestsSince,
  secretValue,
  untilApiserverQuiet,
  untilNoNamespaceTerminating,
  Watcher,
  type ApiserverRequests,
  type ProcessUsage,
  type VaultRequests,
} from './observe.ts';

export interface BenchOptions {
  /** Definitions. */
  readonly n: number;
  /** Distinct Vault paths they read. */
  readonly paths: number;
  readonly namespaces: number;
  /** The operator's --reconcile-period, in seconds. */
  readonly intervalSeconds: number;
  /** Vault paths changed one after another in the rotation phase. */
  readonly rotate: number;
  /** Further Vault paths changed one at a time after it, `pacedGapMs` apart (0: no such phase). */
  readonly paced: number;
  readonly pacedGapMs: number;
  /** Intervals watched in the steady state. */
  readonly steadyIntervals: number;
  /** The operator's entry point: dist/main.js (built) or src/main.ts. */
  readonly entry: string;
  /** Client concurrency of the floor and of applying definitions. */
  readonly concurrency: number;
  readonly extraArgs?: readonly string[];
  readonly log: (line: string) => void;
}

export interface BenchResult {
  readonly options: Omit<BenchOptions, 'log'>;
  readonly floorSeconds: number;
  /**
   * The apiserver's part of a first sync done directly, with no operator: for each of N, the
   * definition created (as the bench does), its Secret created and its status patched, with the
   * same client and concurrency. What a sync cannot go under on this machine.
   */
  readonly definitionFloorSeconds: number;
  readonly syncSeconds: number;
  /** To every definition Ready=True for its generation. */
  readonly readySeconds: number;
  readonly syncVault: Omit<VaultRequests, 'pathsRead'> & { readonly distinctPaths: number };
  /** Kubernetes writes the operator made to reach sync (the apiserver's count less the bench's own). */
  readonly syncKubeWrites: number;
  /** The apiserver's requests from applying the definitions to all Ready, less the bench's own creates. */
  readonly syncApiserver: ApiserverRequests;
  readonly syncCpuSeconds: number;
  /** CPU seconds the stack's servers spent on the floor, and on the sync: where the time goes. */
  readonly floorStackCpu: StackCpu;
  readonly syncStackCpu: StackCpu;
  readonly steady: {
    readonly seconds: number;
    readonly readsPerIntervalPerPath: number;
    readonly kubeWrites: number;
  };
  /** Secrets done over time, in the floor, the definition floor and the operator's sync: for the picture. */
  readonly progress: {
    readonly floor: ProgressCurve;
    readonly definitionFloor: ProgressCurve;
    readonly sync: ProgressCurve;
  };
  /** `rotate` paths changed one after another: a burst. */
  readonly rotation: Rotation;
  /** `paced` other paths changed `pacedGapMs` apart: the latency of one change, not of a burst. */
  readonly pacedRotation?: Rotation;
  readonly restart: { readonly verifiedSeconds: number; readonly kubeWrites: number; readonly reads: number };
  /** Two replicas at rest, the leader SIGKILLed: to every path read by the new leader, and its writes. */
  readonly failover: {
    readonly leaseSeconds: number;
    readonly verifiedSeconds: number;
    readonly kubeWrites: number;
    readonly standbyReady: string;
  };
  readonly shutdownSeconds: number;
  readonly peakRssMiB: number;
  /** The peak by phase: up to the sync, the whole first run, the restarted operator. */
  readonly peakRssByPhaseMiB: { readonly sync: number; readonly firstRun: number; readonly restart: number };
  readonly cpuSeconds: number;
}

/** [seconds since the phase started, how many were done by then], at most 200 points, ascending. */
export type ProgressCurve = readonly (readonly [number, number])[];

/** The curve of `done` (each item's finishing time, seconds), thinned to at most 200 points. */
export function progressCurve(done: readonly number[]): ProgressCurve {
  const sorted = [...done].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(sorted.length / 200));
  const points: [number, number][] = [[0, 0]];
  for (let i = step - 1; i < sorted.length; i += step) points.push([sorted[i] ?? 0, i + 1]);
  const last = sorted.at(-1);
  if (last !== undefined && points.at(-1)?.[1] !== sorted.length) points.push([last, sorted.length]);
  return points;
}

/** Vault paths changed, and how the Secrets that read them followed (seconds). */
export interface Rotation {
  readonly paths: number;
  /** Secrets that followed. */
  readonly changed: number;
  /** Every Vault read of the operator meanwhile, per changed path (1.00: one read per change). */
  readonly readsPerChange: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface StackCpu {
  readonly apiserver: number;
  readonly etcd: number;
  readonly openbao: number;
}

/** CPU seconds each server of the stack has used so far, from /proc. */
async function stackCpu(state: StackState): Promise<StackCpu> {
  const cpu = async (name: keyof StackState['daemons']): Promise<number> =>
    (await processUsage(state.daemons[name].pid)).cpuSeconds;
  return {
    apiserver: await cpu('kube-apiserver'),
    etcd: await cpu('etcd'),
    openbao: await cpu('openbao'),
  };
}

function cpuSince(before: StackCpu, after: StackCpu): StackCpu {
  return {
    apiserver: after.apiserver - before.apiserver,
    etcd: after.etcd - before.etcd,
    openbao: after.openbao - before.openbao,
  };
}

const role = 'bench';
const managedBy = 'app.kubernetes.io/managed-by=secrets-manager';

/** Runs `count` tasks with at most `concurrency` at once. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function benchAppRole(vault: VaultAdmin): Promise<{ roleId: string; secretId: string }> {
  await vault.call('POST', `auth/approle/role/${role}`, {
    token_policies: ['secrets-manager'],
    token_ttl: '1h',
    token_max_ttl: '4h',
    secret_id_ttl: '0',
  });
  const roleId = (await vault.call('GET', `auth/approle/role/${role}/role-id`)) as {
    data: { role_id: string };
  };
  const secretId = (await vault.call('POST', `auth/approle/role/${role}/secret-id`)) as {
    data: { secret_id: string };
  };
  return { roleId: roleId.data.role_id, secretId: secretId.data.secret_id };
}

interface RunningOperator {
  readonly child: ChildProcess;
  /** GET of one of its endpoints (/readyz, /metrics): status and body. */
  endpoint(path: string): Promise<{ status: number; body: string }>;
  /** The last usage read while it ran: kept for after it exits. */
  usage(): Promise<ProcessUsage>;
  stop(): Promise<number>;
}

async function startOperator(
  state: StackState,
  options: BenchOptions,
  credentials: { roleId: string; secretId: string },
): Promise<RunningOperator> {
  const [port] = await freePorts(1);
  // Run as the image runs it: the node options of the Dockerfile's ENTRYPOINT, and its ENV
  // (BENCH_ENV='MALLOC_ARENA_MAX=8', say, over it for a comparison).
  const nodeOptions = await imageNodeOptions();
  const env = await imageEnv('BENCH_ENV');
  const child = spawn(
    process.execPath,
    [
      ...nodeOptions,
      options.entry,
      `--metrics-addr=127.0.0.1:${port}`,
      `--kubeconfig=${state.kube.kubeconfig}`,
      `--vault.url=${state.vault.addr}`,
      `--reconcile-period=${options.intervalSeconds}s`,
      // The floor creates Secrets with the same concurrency the operator reconciles with.
      `--concurrency=${options.concurrency}`,
      '--log-level=warn',
      ...(options.extraArgs ?? []),
    ],
    {
      env: {
        ...env,
        PATH: process.env['PATH'] ?? '',
        VAULT_ROLE_ID: credentials.roleId,
        VAULT_SECRET_ID: credentials.secretId,
        // For profiling runs: BENCH_NODE_OPTIONS='--heapsnapshot-signal=SIGUSR2', say.
        ...(process.env['BENCH_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_NODE_OPTIONS'] } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => options.log(`operator: ${chunk.toString().trim()}`));
  let last: ProcessUsage = { cpuSeconds: 0, peakRssMiB: 0, rssMiB: 0 };
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const usage = async (): Promise<ProcessUsage> => {
    if (child.exitCode === null && child.pid) last = await processUsage(child.pid).catch(() => last);
    return last;
  };
  return {
    child,
    usage,
    endpoint: async (path) => {
      const res = await http(`http://127.0.0.1:${port}${path}`, { timeoutMs: 10_000 }).catch(() => undefined);
      return { status: res?.status ?? 0, body: res?.body ?? '' };
    },
    async stop() {
      await usage();
      child.kill('SIGTERM');
      return exited;
    },
  };
}

function settingsOf(options: BenchOptions): Omit<BenchOptions, 'log'> {
  const { n, paths, namespaces, intervalSeconds, rotate, steadyIntervals, entry, concurrency } = options;
  return {
    n,
    paths,
    namespaces,
    intervalSeconds,
    rotate,
    paced: options.paced,
    pacedGapMs: options.pacedGapMs,
    steadyIntervals,
    entry,
    concurrency,
    extraArgs: options.extraArgs ?? [],
  };
}

export async function runBench(state: StackState, options: BenchOptions): Promise<BenchResult> {
  const { n, paths, namespaces, intervalSeconds, log } = options;
  // The floor uses the operator's own client (one keep-alive pool, no rate limit): the same
  // client, the same concurrency, only the operator's work taken away.
  const { kubeConfig } = loadKubeConfig({ kubeconfig: state.kube.kubeconfig });
  const kube = kubeApi(kubeConfig);
  const vault = new VaultAdmin(state.vault.addr, state.vault.rootToken);
  const audit = new AuditLog(state.vault.auditLog);
  const run = Date.now().toString(36);
  const spaces = Array.from({ length: namespaces }, (_, k) => `bench-${run}-${k}`);
  const floorSpace = `bench-${run}-floor`;
  for (const name of [...spaces, floorSpace]) {
    await kube.core.createNamespace({ body: { metadata: { name } } });
  }
  await applyCrd(state.binaries.kubectl, state.kube);

  log(`seeding ${paths} Vault paths`);
  const generation = new Map<number, number>();
  const valueOf = (p: number): string => `v-${p}-${generation.get(p) ?? 0}`;
  const pathOf = (p: number): string => `bench-${run}/p${p}`;
  await pool(paths, 16, (p) =>
    vault.call('POST', `secret/data/${pathOf(p)}`, { data: { v: valueOf(p) } }).then(() => undefined),
  );

  log(`floor: ${n} plain Secrets created directly, ${options.concurrency} at a time`);
  const floorStart = Date.now();
  const floorCpuBefore = await stackCpu(state);
  const floorDone: number[] = [];
  await pool(n, options.concurrency, async (i) => {
    await kube.core.createNamespacedSecret({
      namespace: floorSpace,
      body: { metadata: { name: `s${i}` }, stringData: { v: valueOf(i % paths) } },
    });
    floorDone.push((Date.now() - floorStart) / 1000);
  });
  const floorSeconds = (Date.now() - floorStart) / 1000;
  const floorStackCpu = cpuSince(floorCpuBefore, await stackCpu(state));
  await kube.core.deleteCollectionNamespacedSecret({ namespace: floorSpace });

  log(`definition floor: ${n} definitions created, each with its Secret and a status patch, directly`);
  const definitionFloorStart = Date.now();
  const definitionFloorDone: number[] = [];
  await pool(n, options.concurrency, async (i) => {
    const target = { group, version, namespace: floorSpace, plural, name: `f${i}` };
    await kube.customObjects.createNamespacedCustomObject({
      ...target,
      body: {
        apiVersion,
        kind,
        metadata: { name: `f${i}` },
        spec: { name: `f${i}`, keysMap: { v: { path: `secret/${pathOf(i % paths)}`, key: 'v' } } },
      },
    });
    await kube.core.createNamespacedSecret({
      namespace: floorSpace,
      body: { metadata: { name: `f${i}` }, stringData: { v: valueOf(i % paths) } },
    });
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await kube.customObjects.patchNamespacedCustomObjectStatus(
      {
        ...target,
        body: {
          status: {
            observedGeneration: 1,
            secretName: `f${i}`,
            lastSyncTime: now,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Synced',
                message: `Secret f${i} is in sync with Vault (refreshed every ${intervalSeconds}s)`,
                lastTransitionTime: now,
                observedGeneration: 1,
              },
            ],
          },
        },
      },
      mergePatch,
    );
    definitionFloorDone.push((Date.now() - definitionFloorStart) / 1000);
  });
  const definitionFloorSeconds = (Date.now() - definitionFloorStart) / 1000;
  await kube.customObjects.deleteCollectionNamespacedCustomObject({
    group,
    version,
    namespace: floorSpace,
    plural,
  });
  await kube.core.deleteCollectionNamespacedSecret({ namespace: floorSpace });

  const credentials = await benchAppRole(vault);
  const watcher = new Watcher('/api/v1/secrets', secretValue);
  await watcher.start(kube, managedBy);
  const definitions = new Watcher(`/apis/${group}/${version}/${plural}`, readyStatus);
  await definitions.start(kube);
  const ready = new Map<string, string>();
  for (let i = 0; i < n; i += 1) ready.set(`${spaces[i % namespaces] ?? ''}/d${i}`, 'True');
  const expected = new Map<string, string>();
  const secretOf = (i: number): string => `${spaces[i % namespaces] ?? ''}/s${i}`;
  for (let i = 0; i < n; i += 1) expected.set(secretOf(i), valueOf(i % paths));

  try {
    const operator = await startOperator(state, options, credentials);
    const markSync = await audit.mark();
    await untilNoNamespaceTerminating(kube, 300_000);
    await untilApiserverQuiet(state, 2_000, 120_000);
    const requestsBefore = await apiserverRequests(state);
    log(`applying ${n} definitions over ${paths} paths in ${namespaces} namespaces`);
    const syncStart = Date.now();
    const syncCpuBefore = await stackCpu(state);
    await pool(n, options.concurrency, async (i) => {
      await kube.customObjects.createNamespacedCustomObject({
        group,
        version,
        namespace: spaces[i % namespaces] ?? '',
        plural,
        body: {
          apiVersion,
          kind,
          metadata: { name: `d${i}` },
          spec: { name: `s${i}`, keysMap: { v: { path: `secret/${pathOf(i % paths)}`, key: 'v' } } },
        },
      });
    });
    const syncEnd = await watcher.until(expected, Math.max(600_000, n * 200), `all ${n} Secrets correct`);
    const syncSeconds = (syncEnd - syncStart) / 1000;
    log(`all ${n} correct after ${syncSeconds.toFixed(1)}s`);
    const syncDone = Array.from(
      { length: n },
      (_, i) => ((watcher.changedAt(secretOf(i)) ?? syncEnd) - syncStart) / 1000,
    );
    const readyEnd = await definitions.until(ready, Math.max(600_000, n * 200), `all ${n} definitions Ready`);
    const readySeconds = (readyEnd - syncStart) / 1000;
    const syncStackCpu = cpuSince(syncCpuBefore, await stackCpu(state));
    const syncUsage = await operator.usage();
    const syncRequests = await audit.requestsSince(markSync, role);
    const applied = requestsSince(requestsBefore, await apiserverRequests(state));
    // Less the bench's own creates of the definitions.
    const syncApiserver: ApiserverRequests = {
      ...applied,
      writes: applied.writes - n,
      writesBy: { ...applied.writesBy, secretdefinitions: applied.writesBy.secretdefinitions - n },
    };
    const syncKubeWrites = syncApiserver.writes;
    log(`all ${n} Ready after ${readySeconds.toFixed(1)}s`);

    log(`steady state: ${options.steadyIntervals} intervals of ${intervalSeconds}s`);
    // Start the window on an idle operator: one interval after sync for first-write echoes.
    await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000));
    const markSteady = await audit.mark();
    const writesSteady = await apiserverWrites(state);
    const steadyStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, options.steadyIntervals * intervalSeconds * 1000));
    const steadySeconds = (Date.now() - steadyStart) / 1000;
    const steadyReads = (await audit.requestsSince(markSteady, role)).reads;
    const steady = {
      seconds: steadySeconds,
      readsPerIntervalPerPath: steadyReads / paths / (steadySeconds / intervalSeconds),
      kubeWrites: (await apiserverWrites(state)) - writesSteady,
    };

    // Vault paths `changed` written gapMs apart (0: one after another); answers, per Secret
    // that follows one of them, the time from its path's write to the watch seeing the new value,
    // and every Vault read of the operator meanwhile.
    const change = async (changed: readonly number[], gapMs: number): Promise<Rotation> => {
      const mark = await audit.mark();
      const changedAt = new Map<number, number>();
      for (const p of changed) {
        generation.set(p, (generation.get(p) ?? 0) + 1);
        await vault.call('POST', `secret/data/${pathOf(p)}`, { data: { v: valueOf(p) } });
        changedAt.set(p, Date.now());
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      for (let i = 0; i < n; i += 1) expected.set(secretOf(i), valueOf(i % paths));
      // Generous: a stretched interval (the operator warns of it) still completes and is measured.
      await watcher.until(expected, (intervalSeconds * 6 + 60) * 1000, 'every changed Secret');
      const reads = (await audit.requestsSince(mark, role)).reads;
      const latencies: number[] = [];
      for (let i = 0; i < n; i += 1) {
        const at = changedAt.get(i % paths);
        const seen = watcher.changedAt(secretOf(i));
        if (at !== undefined && seen !== undefined) latencies.push((seen - at) / 1000);
      }
      return {
        paths: changed.length,
        changed: latencies.length,
        readsPerChange: changed.length === 0 ? 0 : reads / changed.length,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: percentile(latencies, 100),
      };
    };
    const rotated = Math.min(options.rotate, paths);
    log(`rotation: ${rotated} paths changed one after another`);
    const rotation = await change(
      Array.from({ length: rotated }, (_, p) => p),
      0,
    );
    // Paths the burst did not touch, where there are enough: a path changed twice within a
    // second is read once per second at most, which would be measured here instead.
    const paced = Math.min(options.paced, paths);
    const pacedRotation =
      paced === 0
        ? undefined
        : (log(`paced changes: ${paced} paths, one every ${options.pacedGapMs} ms`),
          await change(
            Array.from({ length: paced }, (_, k) => (rotated + k) % paths),
            options.pacedGapMs,
          ));

    log('restart: SIGTERM, then start again');
    const stopStart = Date.now();
    const beforeStop = await operator.usage();
    await operator.stop();
    const shutdownSeconds = (Date.now() - stopStart) / 1000;
    const markRestart = await audit.mark();
    const writesRestart = await apiserverWrites(state);
    const restartStart = Date.now();
    const second = await startOperator(state, options, credentials);
    let verifiedAt = 0;
    for (;;) {
      const seen = await audit.requestsSince(markRestart, role);
      if (seen.pathsRead.size >= paths) {
        verifiedAt = Date.now();
        break;
      }
      if (Date.now() - restartStart > Math.max(300_000, n * 100))
        throw new Error('the restarted operator did not read every path');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // Writes it makes while it verifies; what it would write it writes right after reading.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const restart = {
      verifiedSeconds: (verifiedAt - restartStart) / 1000,
      kubeWrites: (await apiserverWrites(state)) - writesRestart,
      reads: (await audit.requestsSince(markRestart, role)).reads,
    };
    const secondUsage = await second.usage();
    await second.stop();

    log('failover: two replicas with leader election at rest, the leader SIGKILLed');
    const failover = await measureFailover(options, {
      // Two replicas on one machine cannot both listen on the audit stream's one address.
      start: (args) =>
        startOperator(
          state,
          {
            ...options,
            extraArgs: [
              ...(options.extraArgs ?? []).filter((a) => !a.startsWith('--vault.audit-listen')),
              ...args,
            ],
          },
          credentials,
        ),
      leaseNamespace: spaces[0] ?? 'default',
      pathsRead: async (since) => (await audit.requestsSince(since, role)).pathsRead.size,
      mark: () => audit.mark(),
      writes: () => apiserverWrites(state),
    });

    return {
      options: settingsOf(options),
      floorSeconds,
      definitionFloorSeconds,
      syncSeconds,
      readySeconds,
      syncApiserver,
      syncVault: {
        logins: syncRequests.logins,
        mountLookups: syncRequests.mountLookups,
        reads: syncRequests.reads,
        other: syncRequests.other,
        distinctPaths: syncRequests.pathsRead.size,
      },
      syncKubeWrites,
      syncCpuSeconds: syncUsage.cpuSeconds,
      floorStackCpu,
      syncStackCpu,
      steady,
      rotation,
      ...(pacedRotation ? { pacedRotation } : {}),
      progress: {
        floor: progressCurve(floorDone),
        definitionFloor: progressCurve(definitionFloorDone),
        sync: progressCurve(syncDone),
      },
      restart,
      failover,
      shutdownSeconds,
      peakRssMiB: Math.max(beforeStop.peakRssMiB, secondUsage.peakRssMiB),
      peakRssByPhaseMiB: {
        sync: syncUsage.peakRssMiB,
        firstRun: beforeStop.peakRssMiB,
        restart: secondUsage.peakRssMiB,
      },
      cpuSeconds: beforeStop.cpuSeconds,
    };
  } finally {
    watcher.stop();
    definitions.stop();
    for (const name of [...spaces, floorSpace]) {
      await kube.core.deleteNamespace({ name }).catch(() => undefined);
    }
    await kubeConfig.close();
  }
}

interface FailoverDeps {
  readonly start: (args: readonly string[]) => Promise<RunningOperator>;
  readonly leaseNamespace: string;
  /** How many distinct paths the operator's role has read since the audit mark. */
  readonly pathsRead: (since: number) => Promise<number>;
  readonly mark: () => Promise<number>;
  readonly writes: () => Promise<number>;
}

const leaseSeconds = 15;

/** Polls `check` every 250 ms until it answers, or fails after `ms` saying what it waited for. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = await check();
    if (answer !== undefined) return answer;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function measureFailover(options: BenchOptions, deps: FailoverDeps): Promise<BenchResult['failover']> {
  const args = [
    '--enable-leader-election',
    `--leader-election-namespace=${deps.leaseNamespace}`,
    `--leader-election-lease-duration=${leaseSeconds}s`,
  ];
  const budget = Math.max(300_000, options.n * 100);
  const leads = async (operator: RunningOperator): Promise<boolean> =>
    /^secrets_manager_leader 1$/m.test((await operator.endpoint('/metrics')).body);
  const markLeader = await deps.mark();
  const leader = await deps.start(args);
  await until('the first replica to lead', budget, async () => ((await leads(leader)) ? true : undefined));
  // At rest: the leader has verified every path, so what follows is the failover alone.
  await until('the leader to verify every path', budget, async () =>
    (await deps.pathsRead(markLeader)) >= options.paths ? true : undefined,
  );
  const standby = await deps.start(args);
  const standbyReady = await until('the standby to be ready', budget, async () => {
    const ready = await standby.endpoint('/readyz');
    return ready.status === 200 ? ready.body.trim() : undefined;
  });
  try {
    const mark = await deps.mark();
    const writes = await deps.writes();
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    const verifiedAt = await until('the new leader to verify every path', budget, async () =>
      (await deps.pathsRead(mark)) >= options.paths ? Date.now() : undefined,
    );
    // Writes it makes while it verifies; what it would write it writes right after reading.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    return {
      leaseSeconds,
      verifiedSeconds: (verifiedAt - killedAt) / 1000,
      kubeWrites: (await deps.writes()) - writes,
      standbyReady,
    };
  } finally {
    await standby.stop();
    leader.child.kill('SIGKILL');
  }
}
