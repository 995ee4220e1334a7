// One soak run on a running stack: the operator as two replicas with leader election, the seeded
// load at a steady rate, the seeded faults, and the independent checker watching throughout.
// It leaves the stack as it found it: OpenBao and the apiserver serving, its replicas stopped,
// its namespaces deleted.

import { apiserverAuditLog, applyCrd } from '../test/harness/kube.ts';
import { stackStatus, startOneAgain, type StackState } from '../test/harness/stack.ts';
import { VaultAdmin } from '../test/harness/vault.ts';
import { imageEnv, imageNodeOptions } from '../test/support/dockerfile.ts';
import { AuditLog } from '../bench/observe.ts';
import { Checker } from './checker.ts';
import { untilGarbageCollectorFollowsDefinitions } from './garbage-collector.ts';
import { faultSchedule, inject, recoveryBudgetS, type FaultKind, type FaultTargets } from './faults.ts';
import { pause, soakKube, statusOf } from './kube.ts';
import { Ledger } from './ledger.ts';
import { Load } from './load.ts';
import { mulberry32 } from './prng.ts';
import { heapEvery, Replicas } from './replicas.ts';
import { VaultProxy } from './vault-proxy.ts';
import { auditMark, checkWriters, operatorWritesSince, writesSince } from './writers.ts';
import { recoveryOf, slopeOf, type FaultRecord, type SoakResult } from './report.ts';

export interface SoakOptions {
  readonly seed: number;
  readonly minutes: number;
  /** Definitions held, about. */
  readonly n: number;
  readonly paths: number;
  readonly namespaces: number;
  /** Load operations per second. */
  readonly rate: number;
  readonly faults: readonly FaultKind[];
  /** Seconds between faults. */
  readonly faultEveryS: number;
  /** The operator's --reconcile-period, seconds. */
  readonly intervalSeconds: number;
  readonly leaseSeconds: number;
  /** Added to interval and lease for a fault's recovery budget. */
  readonly slackSeconds: number;
  /** The operator's entry point: dist/main.js (built) or src/main.ts. */
  readonly entry: string;
  readonly log: (line: string) => void;
}

const role = 'soak';
/** An AppRole mount of the soak's own: revoking its logins revokes the replicas' tokens and no one else's. */
const approleMount = 'approle-soak';
const leaseName = 'secrets-manager-soak';
/** How often each replica's RSS and CPU are sampled; its heap every `heapEvery` samples. */
const sampleEveryMs = 5_000;
/** The bound on the RSS slope over a long run's last half (see docs/reliability.md). */
export const rssSlopeBoundMiBPerHour = 10;
/** Runs this long or longer keep the last half free of faults that end an operator process, and bound its memory. */
const memoryRunS = 20 * 60;

async function soakAppRole(vault: VaultAdmin): Promise<{ roleId: string; secretId: string }> {
  await vault.call('POST', `sys/auth/${approleMount}`, { type: 'approle' }).catch((error: unknown) => {
    if (!/already in use/.test(String(error))) throw error;
  });
  await vault.call('POST', `auth/${approleMount}/role/${role}`, {
    token_policies: ['secrets-manager'],
    token_ttl: '1h',
    token_max_ttl: '4h',
    secret_id_ttl: '0',
  });
  const roleId = (await vault.call('GET', `auth/${approleMount}/role/${role}/role-id`)) as {
    data: { role_id: string };
  };
  const secretId = (await vault.call('POST', `auth/${approleMount}/role/${role}/secret-id`)) as {
    data: { secret_id: string };
  };
  return { roleId: roleId.data.role_id, secretId: secretId.data.secret_id };
}

export async function runSoak(state: StackState, options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const kube = soakKube(state.kube.kubeconfig);
  const vault = new VaultAdmin(state.vault.addr, state.vault.rootToken);
  const audit = new AuditLog(state.vault.auditLog);
  const ledger = new Ledger();
  const prng = mulberry32(options.seed);
  const run = `soak-${options.seed}-${Date.now().toString(36)}`;
  const durationS = options.minutes * 60;
  // The longest budget of any fault: the spacing of the schedule's tail and the final convergence.
  const budgetS = options.intervalSeconds + options.leaseSeconds + options.slackSeconds;
  // Drawn first, so the schedule depends on the seed alone and not on how the load went.
  const measuresMemory = durationS >= memoryRunS;
  const schedule = faultSchedule(
    prng,
    options.faults,
    durationS,
    options.faultEveryS,
    budgetS,
    measuresMemory ? durationS / 4 : Infinity,
  );
  log(`run ${run}: ${schedule.map((f) => `${f.kind}@${f.atS}s`).join(', ') || 'no faults'}`);

  await applyCrd(state.binaries.kubectl, state.kube);
  const credentials = await soakAppRole(vault);
  const proxy = new VaultProxy(state.vault.addr);
  const proxyUrl = await proxy.listen();
  const kubeAudit = apiserverAuditLog(state.dir);
  const load = new Load(kube, vault, ledger, prng, {
    n: options.n,
    paths: options.paths,
    namespaces: options.namespaces,
    run,
  });
  const checker = new Checker(kube, ledger, {
    prefix: `${run}-`,
    orphanGraceMs: 30_000,
    foreignGraceMs: 5_000,
    log,
  });
  const replicas = new Replicas({
    command: [...(await imageNodeOptions()), options.entry],
    args: [
      `--kubeconfig=${state.kube.kubeconfig}`,
      `--vault.url=${proxyUrl}`,
      `--vault.approle-path=${approleMount}`,
      `--reconcile-period=${options.intervalSeconds}s`,
      '--enable-leader-election',
      `--leader-election-namespace=${run}-0`,
      `--leader-election-id=${leaseName}`,
      `--leader-election-lease-duration=${options.leaseSeconds}s`,
      '--log-level=warn',
    ],
    env: {
      ...(await imageEnv('SOAK_ENV')),
      PATH: process.env['PATH'] ?? '',
      VAULT_ROLE_ID: credentials.roleId,
      VAULT_SECRET_ID: credentials.secretId,
      ...(process.env['SOAK_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['SOAK_NODE_OPTIONS'] } : {}),
    },
    log,
  });
  const stop = new AbortController();
  const targets: FaultTargets = {
    state,
    vault,
    proxy,
    approleMount,
    replicas,
    burst: () => load.burst(Math.min(50, options.paths), stop.signal),
    leaseSeconds: options.leaseSeconds,
    outageSeconds: 15,
    log,
  };
  try {
    await checker.start();
    log(`seeding ${options.paths} paths and ${options.n} definitions in ${options.namespaces} namespaces`);
    await load.seed(8, stop.signal);
    const gcSeconds = await untilGarbageCollectorFollowsDefinitions(kube, `${run}-0`, 180_000);
    log(`the garbage collector follows definitions (${gcSeconds.toFixed(1)}s)`);
    const kubeAuditMark = await auditMark(kubeAudit);
    await replicas.start(2, sampleEveryMs);
    await replicas.untilLeader(120_000);
    await replicas.untilAllReady(120_000);
    const firstBudgetMs = Math.max(300_000, options.n * 200);
    const first = await checker.untilCorrect(checker.snapshot(), firstBudgetMs, firstBudgetMs);
    if (first.seconds === undefined)
      throw new Error(`the first sync never completed: ${first.wrong.slice(0, 5).join(', ')}`);
    log(`first sync: every definition correct after ${first.seconds.toFixed(1)}s`);

    const markVault = await audit.mark();
    const started = Date.now();
    const loading = load.run(options.rate, stop.signal);
    const faults: FaultRecord[] = [];
    for (const fault of schedule) {
      await pause(Math.max(0, started + fault.atS * 1000 - Date.now()));
      // One fault at a time: the last one's replica is back and the standby ready.
      await replicas.untilLeader(120_000);
      await replicas.untilAllReady(120_000);
      const begun = Date.now();
      const ended = await inject(fault.kind, targets);
      const snapshot = checker.snapshot();
      const faultBudgetS = recoveryBudgetS(fault.kind, options);
      const recovered = await checker.untilCorrect(snapshot, faultBudgetS * 1000, faultBudgetS * 3 * 1000);
      const record: FaultRecord = {
        kind: fault.kind,
        at: new Date(begun).toISOString(),
        recoveredS: recovered.seconds ?? null,
        lastedS: (ended - begun) / 1000,
        budgetS: faultBudgetS,
      };
      faults.push(record);
      log(
        `${fault.kind}: lasted ${record.lastedS.toFixed(1)}s, recovered after ${String(record.recoveredS)}s`,
      );
      if (recovered.seconds === undefined || recovered.seconds > faultBudgetS) {
        checker.flag(
          'not-recovered',
          `after ${fault.kind} at ${record.at}: ${String(recovered.wrong.length)} definitions not correct within ${String(faultBudgetS)}s, ${recovered.seconds === undefined ? 'nor by the end of the wait' : `all correct after ${recovered.seconds.toFixed(1)}s`} (${recovered.wrong.slice(0, 5).join('; ')})`,
        );
      }
    }
    await pause(Math.max(0, started + durationS * 1000 - Date.now()));
    stop.abort();
    await loading;
    const final = await checker.untilCorrect(checker.snapshot(), budgetS * 1000, budgetS * 1000);
    if (final.seconds === undefined) {
      checker.flag(
        'not-converged',
        `at the end of the run ${final.wrong.length} definitions not correct within ${budgetS}s (${final.wrong.slice(0, 5).join('; ')})`,
      );
    }
    await checker.finish(30_000);
    const actualS = (Date.now() - started) / 1000;
    const writes = await writesSince(kubeAudit, kubeAuditMark);
    const writers = checkWriters(writes, `${run}-0/${leaseName}`, `${run}-`);
    for (const what of writers.secondWriters) checker.flag('second-writer', what);
    const vaultRequests = await audit.requestsSince(markVault, role);
    // From the audit log, which outlives the apiserver's restarts (its request counters do not).
    const kubeWrites = operatorWritesSince(writes, started, `${run}-0/${leaseName}`, `${run}-`);
    const operations = load.operations;
    const requests =
      vaultRequests.logins + vaultRequests.mountLookups + vaultRequests.reads + vaultRequests.other;
    const samples = [...replicas.samples];
    const lastOf = (replica: number): number =>
      samples.filter((s) => s.replica === replica).at(-1)?.cpuSeconds ?? 0;
    const fromS = (samples.at(-1)?.t ?? 0) / 2;
    const slopes = [0, 1].map((r) => slopeOf(samples, r, fromS, 'rssMiB'));
    if (measuresMemory) {
      for (const [replica, slope] of slopes.entries()) {
        if (slope !== null && slope > rssSlopeBoundMiBPerHour)
          checker.flag(
            'memory-growth',
            `replica ${replica}'s RSS grew ${slope.toFixed(1)} MiB/h over the last half (bound ${rssSlopeBoundMiBPerHour})`,
          );
      }
    }
    return {
      seed: options.seed,
      options: { ...options, log: undefined, faults: [...options.faults] },
      durationS: actualS,
      operations,
      operationsBy: Object.fromEntries(load.applied),
      loadRetries: load.retries,
      faults,
      violations: [...checker.violations],
      recovery: recoveryOf(faults),
      vault: {
        requests,
        reads: vaultRequests.reads,
        logins: vaultRequests.logins,
        perOperation: operations === 0 ? 0 : requests / operations,
        loadWrites: load.applied.get('rotate') ?? 0,
      },
      kube: { writes: kubeWrites, perOperation: operations === 0 ? 0 : kubeWrites / operations },
      writers: { writesBy: writers.writesBy, handovers: writers.handovers },
      replicas: {
        restarts: replicas.restarts,
        samples,
        rssSlopeMiBPerHour: slopes,
        rssSlopeBoundMiBPerHour: measuresMemory ? rssSlopeBoundMiBPerHour : null,
        heapSlopeMiBPerHour: [0, 1].map((r) => slopeOf(samples, r, fromS, 'heapUsedMiB')),
        heapScrapeEveryS: (sampleEveryMs * heapEvery) / 1000,
        peakRssMiB: Math.max(0, ...samples.map((s) => s.rssMiB)),
        cpuSeconds: [0, 1].map(lastOf),
      },
    };
  } finally {
    stop.abort();
    await restoreStack(targets);
    await replicas.stop();
    await proxy.close();
    await checker.stop();
    for (const name of load.allNamespaces()) {
      await kube.core.deleteNamespace({ name }).catch((error: unknown) => {
        if (statusOf(error) !== 404) log(`could not delete namespace ${name}: ${String(error)}`);
      });
    }
  }
}

/** OpenBao and the apiserver serving again, whatever a fault left behind (a restart that failed midway). */
async function restoreStack(targets: FaultTargets): Promise<void> {
  for (const status of await stackStatus(targets.state)) {
    if ((status.name === 'openbao' || status.name === 'kube-apiserver') && !status.running) {
      targets.log(`restoring ${status.name}, which a fault left stopped`);
      targets.state = await startOneAgain(targets.state, status.name);
    }
  }
}
