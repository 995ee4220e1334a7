// What the benchmark measures, always from outside the operator: its process in /proc, OpenBao's
// audit log, kube-apiserver's own request counter, and the managed Secrets as a watch sees them.

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { KubeApi } from '../src/kube/kube-api.ts';
import { http } from '../test/harness/http.ts';
import type { StackState } from '../test/harness/stack.ts';

/** Linux clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every Linux we run on). */
const ticksPerSecond = 100;

export interface ProcessUsage {
  readonly cpuSeconds: number;
  /** The peak resident set so far (VmHWM), in MiB. */
  readonly peakRssMiB: number;
  readonly rssMiB: number;
}

/** CPU seconds and resident memory of a process, read from /proc. */
export async function processUsage(pid: number): Promise<ProcessUsage> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return {
    cpuSeconds: (utime + stime) / ticksPerSecond,
    peakRssMiB: kib('VmHWM') / 1024,
    rssMiB: kib('VmRSS') / 1024,
  };
}

export interface VaultRequests {
  readonly logins: number;
  readonly mountLookups: number;
  readonly reads: number;
  readonly other: number;
  /** Distinct secret paths read. */
  readonly pathsRead: ReadonlySet<string>;
}

/** OpenBao's audit log from a byte offset on: the requests made with one AppRole role's tokens. */
export class AuditLog {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  async mark(): Promise<number> {
    return (await stat(this.#file)).size;
  }

  /**
   * Read line by line: two hours of the soak's OpenBao audit log pass the longest string V8 can
   * hold (512 MiB), and that run's report was lost when it was read as one.
   */
  async requestsSince(mark: number, role: string): Promise<VaultRequests> {
    const size = (await stat(this.#file)).size;
    // One byte before the mark, to see whether the mark fell inside a line.
    const from = Math.max(0, mark - 1);
    const lines = size > from ? wholeLines(createReadStream(this.#file, { start: from, end: size - 1 })) : [];
    let first = mark > 0;
    let logins = 0;
    let mountLookups = 0;
    let reads = 0;
    let other = 0;
    const pathsRead = new Set<string>();
    for await (const line of lines) {
      // OpenBao may be writing a line right now: only whole lines count, from the first line that
      // starts at or after the mark to the last one that is finished.
      if (first) {
        first = false;
        continue;
      }
      if (!line) continue;
      const entry = JSON.parse(line) as {
        type: string;
        auth?: { metadata?: Record<string, string> | null };
        request?: { path?: string };
      };
      const path = entry.request?.path ?? '';
      // Logins carry the role in their answer only; everything else in the request.
      // Any AppRole mount's login (the soak logs in at a mount of its own).
      if (/^auth\/approle[^/]*\/login$/.test(path)) {
        if (entry.type === 'response' && entry.auth?.metadata?.['role_name'] === role) logins += 1;
        continue;
      }
      if (entry.type !== 'request' || entry.auth?.metadata?.['role_name'] !== role) continue;
      if (path.startsWith('sys/internal/ui/mounts/')) mountLookups += 1;
      else if (path.startsWith('secret/data/')) {
        reads += 1;
        pathsRead.add(path);
      } else other += 1;
    }
    return { logins, mountLookups, reads, other, pathsRead };
  }
}

/** What kube-apiserver has served to what the operator touches, from the apiserver's own metrics. */
export interface ApiserverRequests {
  /** POST, PUT, PATCH, APPLY and DELETE of Secrets, SecretDefinitions (status) and Events. */
  readonly writes: number;
  /** Of those, by resource. */
  readonly writesBy: {
    readonly secrets: number;
    readonly secretdefinitions: number;
    readonly events: number;
  };
  /**
   * GETs of one Secret (lists and watches are not counted: they are per cache, not per object).
   * GETs of one SecretDefinition are left out: the operator makes none, and the garbage collector
   * makes them, late and unattributable, to check the owners of Secrets deleted before the run.
   */
  readonly reads: number;
}

/** `after` less `before`, field by field. */
export function requestsSince(before: ApiserverRequests, after: ApiserverRequests): ApiserverRequests {
  return {
    writes: after.writes - before.writes,
    writesBy: {
      secrets: after.writesBy.secrets - before.writesBy.secrets,
      secretdefinitions: after.writesBy.secretdefinitions - before.writesBy.secretdefinitions,
      events: after.writesBy.events - before.writesBy.events,
    },
    reads: after.reads - before.reads,
  };
}

/**
 * The apiserver's counts of requests to Secrets, SecretDefinitions and Events. Leases are left
 * out: the controller-manager and the apiserver renew their own every few seconds.
 */
export async function apiserverRequests(state: StackState): Promise<ApiserverRequests> {
  const res = await http(`${state.kube.server}/metrics`, {
    headers: { authorization: `Bearer ${state.kube.adminToken}` },
    ca: await readFile(state.kube.caFile, 'utf8'),
    timeoutMs: 30_000,
  });
  if (res.status !== 200) throw new Error(`kube-apiserver /metrics answered ${res.status}`);
  const writesBy = { secrets: 0, secretdefinitions: 0, events: 0 };
  let reads = 0;
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const resource = /resource="(secrets|secretdefinitions|events)"/.exec(line)?.[1] as
      keyof typeof writesBy | undefined;
    if (!resource) continue;
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (/verb="(POST|PUT|PATCH|APPLY|DELETE)"/.test(line)) writesBy[resource] += count;
    else if (/verb="GET"/.test(line) && /scope="resource"/.test(line) && resource === 'secrets')
      reads += count;
  }
  return { writes: writesBy.secrets + writesBy.secretdefinitions + writesBy.events, writesBy, reads };
}

/** The writes of apiserverRequests. */
export async function apiserverWrites(state: StackState): Promise<number> {
  return (await apiserverRequests(state)).writes;
}

/**
 * Objects of one kind as a watch sees them, each as one value (`valueOf`): the value of key `v`
 * of a Secret, the Ready status of a definition. Waits resolve as soon as the watch shows the
 * wanted state, and changes are timed as they arrive.
 */
export class Watcher {
  readonly #values = new Map<string, string>();
  readonly #waiters = new Set<() => void>();
  readonly #changedAt = new Map<string, number>();
  readonly #path: string;
  readonly #valueOf: (object: unknown) => string;
  #abort: AbortController | undefined;
  #stopped = false;

  constructor(path: string, valueOf: (object: unknown) => string) {
    this.#path = path;
    this.#valueOf = valueOf;
  }

  async start(kube: KubeApi, labelSelector?: string): Promise<void> {
    this.#stopped = false;
    let resourceVersion: string | undefined;
    // The client ends a watch that sees nothing for 2 minutes: resume from the last version seen, and
    // from scratch (replaying every object as ADDED) if that version has expired.
    const begin = async (): Promise<void> => {
      this.#abort = await kube.watch(
        this.#path,
        {
          ...(labelSelector ? { labelSelector } : {}),
          ...(resourceVersion ? { resourceVersion } : {}),
        },
        (type, object) => {
          const { metadata } = object as {
            metadata?: { namespace?: string; name?: string; resourceVersion?: string };
          };
          resourceVersion = metadata?.resourceVersion ?? resourceVersion;
          if (type === 'ERROR') {
            resourceVersion = undefined;
            return;
          }
          const key = `${metadata?.namespace ?? ''}/${metadata?.name ?? ''}`;
          if (type === 'DELETED') this.#values.delete(key);
          else if (type === 'ADDED' || type === 'MODIFIED') {
            const value = this.#valueOf(object);
            if (this.#values.get(key) !== value) this.#changedAt.set(key, Date.now());
            this.#values.set(key, value);
          }
          for (const wake of this.#waiters) wake();
        },
        () => {
          if (!this.#stopped) setTimeout(() => void begin(), 100);
        },
      );
    };
    await begin();
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }

  /** How many of `expected` (object key to value) hold their value now. */
  correct(expected: ReadonlyMap<string, string>): number {
    let count = 0;
    for (const [key, value] of expected) if (this.#values.get(key) === value) count += 1;
    return count;
  }

  /** When the watch last saw `key` change value (epoch ms). */
  changedAt(key: string): number | undefined {
    return this.#changedAt.get(key);
  }

  /** Resolves when every object in `expected` holds its value; rejects after `timeoutMs`. */
  async until(expected: ReadonlyMap<string, string>, timeoutMs: number, what: string): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.correct(expected) === expected.size) return Date.now();
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out after ${timeoutMs / 1000}s waiting for ${what}: ${this.correct(expected)} of ${expected.size}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1_000));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      }).finally(() => this.#waiters.clear());
    }
  }
}

/** The value of key `v` of a Secret, as text. */
export function secretValue(object: unknown): string {
  const { data } = object as { data?: Record<string, string> };
  return Buffer.from(data?.['v'] ?? '', 'base64').toString();
}

/** A definition's Ready status, for its current generation: "True", "False" or "Unknown". */
export function readyStatus(object: unknown): string {
  const { metadata, status } = object as {
    metadata?: { generation?: number };
    status?: { conditions?: { type?: string; status?: string; observedGeneration?: number }[] };
  };
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready || (ready.observedGeneration ?? metadata?.generation) !== metadata?.generation) return 'Unknown';
  return ready.status ?? 'Unknown';
}

/** Percentile `p` (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

/**
 * Waits until no namespace is being deleted. The apiserver's request counter has no user label,
 * so while the namespace controller empties a namespace (of an earlier test or run) its deletes
 * and reads of Secrets, definitions and Events would be counted as the operator's.
 */
export async function untilNoNamespaceTerminating(kube: KubeApi, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const namespaces = await kube.core.listNamespace();
    const terminating = namespaces.items
      .filter((x) => x.status?.phase === 'Terminating')
      .map((x) => x.metadata?.name ?? '');
    if (terminating.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `namespaces still terminating after ${timeoutMs / 1000}s: ${terminating.join(', ')}; their deletes would be counted as the operator's`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Waits until the apiserver's counts of requests to Secrets, SecretDefinitions and Events stay the
 * same for `quietMs`: the garbage collector, say, still reading the dependents of objects deleted
 * before the run would otherwise be counted as the operator's.
 */
export async function untilApiserverQuiet(
  state: StackState,
  quietMs: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let before = JSON.stringify(await apiserverRequests(state));
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = JSON.stringify(await apiserverRequests(state));
    if (now === before) return;
    if (Date.now() > deadline)
      throw new Error(
        `the apiserver served Secrets, SecretDefinitions or Events without pause for ${timeoutMs / 1000}s before the run`,
      );
    before = now;
  }
}

/** The lines of a stream that end in a newline, without it; the unfinished one at the end is left out. */
export async function* wholeLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let carry = Buffer.alloc(0);
  for await (const chunk of stream) {
    let text = Buffer.concat([carry, chunk]);
    for (let at = text.indexOf(0x0a); at !== -1; at = text.indexOf(0x0a)) {
      yield text.subarray(0, at).toString('utf8');
      text = text.subarray(at + 1);
    }
    carry = text;
  }
}
