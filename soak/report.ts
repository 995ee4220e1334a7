// What a soak run reports: the result as JSON, and the same as one table.

import { percentile } from '../bench/observe.ts';
import type { Violation } from './checker.ts';
import type { FaultKind } from './faults.ts';
import type { OperationKind } from './load.ts';
import type { UsageSample } from './replicas.ts';

export interface FaultRecord {
  readonly kind: FaultKind;
  /** ISO time the fault began. */
  readonly at: string;
  /** Seconds from the fault's end to every definition correct; null if it never was within the give-up time. */
  readonly recoveredS: number | null;
  /** The fault's own length: from its start to its end, seconds. */
  readonly lastedS: number;
  readonly budgetS: number;
}

export interface SoakResult {
  readonly seed: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly durationS: number;
  readonly operations: number;
  readonly operationsBy: Readonly<Partial<Record<OperationKind, number>>>;
  readonly loadRetries: number;
  readonly faults: readonly FaultRecord[];
  readonly violations: readonly Violation[];
  readonly recovery: { readonly p50S: number; readonly maxS: number };
  readonly vault: {
    readonly requests: number;
    readonly reads: number;
    readonly logins: number;
    readonly perOperation: number;
    /** The Vault writes of the load itself (rotations and seeds are the root token's, not counted above). */
    readonly loadWrites: number;
  };
  readonly kube: {
    /** The operator's writes to Secrets, SecretDefinitions and Events while the load ran (Lease renewals left out). */
    readonly writes: number;
    readonly perOperation: number;
  };
  /** From the apiserver's audit log: each replica's writes to the run's objects, and Lease handovers. */
  readonly writers: { readonly writesBy: Readonly<Record<string, number>>; readonly handovers: number };
  readonly replicas: {
    readonly restarts: number;
    readonly samples: readonly UsageSample[];
    /** Per replica: the RSS slope over the run's last half, of the process that was running at the end. */
    readonly rssSlopeMiBPerHour: readonly (number | null)[];
    /** What the slope is held to; null in a run too short to measure it. */
    readonly rssSlopeBoundMiBPerHour: number | null;
    /** Per replica: the slope of the JavaScript heap in use over the same window (a leak of objects shows here). */
    readonly heapSlopeMiBPerHour: readonly (number | null)[];
    readonly heapScrapeEveryS: number;
    readonly peakRssMiB: number;
    readonly cpuSeconds: readonly number[];
  };
}

/**
 * The least-squares slope of a replica's `measure` against time, MiB per hour, over its samples
 * from `fromS` on (those that have it). Only of a process that ran through all of that window: one
 * restarted within it is still warming up, and its growth says nothing of a leak (null then, and
 * with under 3 samples).
 */
export function slopeOf(
  samples: readonly UsageSample[],
  replica: number,
  fromS: number,
  measure: 'rssMiB' | 'heapUsedMiB',
): number | null {
  const mine = samples.filter((s) => s.replica === replica);
  const pid = mine.at(-1)?.pid;
  const firstOfPid = mine.find((s) => s.pid === pid);
  if (!firstOfPid || firstOfPid.t > fromS) return null;
  const points = mine
    .filter((s) => s.pid === pid && s.t >= fromS)
    .flatMap((s) => {
      const value = s[measure];
      return value === null ? [] : [{ t: s.t, value }];
    });
  if (points.length < 3) return null;
  const meanT = points.reduce((sum, p) => sum + p.t, 0) / points.length;
  const meanV = points.reduce((sum, p) => sum + p.value, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - meanT) * (p.value - meanV);
    den += (p.t - meanT) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

export function recoveryOf(faults: readonly FaultRecord[]): SoakResult['recovery'] {
  const times = faults.map((f) => f.recoveredS).filter((s): s is number => s !== null);
  return { p50S: percentile(times, 50), maxS: percentile(times, 100) };
}

export function table(result: SoakResult): string {
  const by = Object.entries(result.operationsBy)
    .map(([kind, count]) => `${kind} ${String(count)}`)
    .join(', ');
  const slopes = (of: readonly (number | null)[]): string =>
    of
      .map(
        (s, i) =>
          `replica ${i}: ${s === null ? 'n/a (restarted in the window, or under 3 samples)' : `${s.toFixed(1)} MiB/h`}`,
      )
      .join(', ');
  const rows: [string, string, string][] = [
    ['duration', `${result.durationS.toFixed(0)} s`, `seed ${result.seed}`],
    ['operations applied', String(result.operations), by],
    ['load calls retried (faults)', String(result.loadRetries), ''],
    ['faults injected', String(result.faults.length), result.faults.map((f) => f.kind).join(', ')],
    [
      'violations',
      String(result.violations.length),
      result.violations
        .slice(0, 5)
        .map((v) => `${v.at} ${v.kind}: ${v.what}`)
        .join('; '),
    ],
    [
      'recovery after a fault',
      `p50 ${result.recovery.p50S.toFixed(1)} s, max ${result.recovery.maxS.toFixed(1)} s`,
      result.faults
        .map((f) => `${f.kind} ${f.recoveredS === null ? 'never' : `${f.recoveredS.toFixed(1)}s`}`)
        .join(', '),
    ],
    [
      'Vault requests per operation',
      result.vault.perOperation.toFixed(2),
      `${result.vault.requests} requests by the operator's role (${result.vault.reads} reads, ${result.vault.logins} logins); the load wrote ${result.vault.loadWrites}`,
    ],
    [
      'Kubernetes writes per operation',
      result.kube.perOperation.toFixed(2),
      `${result.kube.writes} writes by the operator to Secrets, definitions and Events (audit log; Lease renewals left out)`,
    ],
    [
      'writers (apiserver audit log)',
      `${Object.keys(result.writers.writesBy).length} processes, ${result.writers.handovers} handovers`,
      Object.values(result.writers.writesBy).join(' + ') +
        ' writes; never two at once (a second writer is a violation)',
    ],
    [
      'operator restarts',
      String(result.replicas.restarts),
      'killed leaders and thawed ones that lost their Lease included',
    ],
    ['peak RSS', `${result.replicas.peakRssMiB.toFixed(0)} MiB`, ''],
    [
      'RSS slope, last half',
      slopes(result.replicas.rssSlopeMiBPerHour),
      result.replicas.rssSlopeBoundMiBPerHour === null
        ? 'not bounded in a run under 20 minutes'
        : `bound ${result.replicas.rssSlopeBoundMiBPerHour} MiB/h`,
    ],
    [
      'heap-in-use slope, last half',
      slopes(result.replicas.heapSlopeMiBPerHour),
      `nodejs_heap_size_used_bytes from /metrics every ${result.replicas.heapScrapeEveryS} s; reported, not bounded`,
    ],
    [
      'operator CPU seconds',
      result.replicas.cpuSeconds.map((c) => c.toFixed(1)).join(' + '),
      'of the processes running at the end',
    ],
  ];
  const width = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
  const line = (r: readonly string[]): string =>
    `| ${r.map((cell, c) => cell.padEnd(width[c] ?? 0)).join(' | ')} |`;
  return [
    line(['measure', 'value', 'detail']),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}
