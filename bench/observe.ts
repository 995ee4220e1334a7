// What the benchmark measures, always from outside the operator: its process in /proc, OpenBao's
// audit log, kube-apiserver's own request counter, and the managed Secrets as a watch sees them.

import { open, readFile, stat } from 'node:fs/promises';
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

  async requestsSince(mark: number, role: string): Promise<VaultRequests> {
    const handle = await open(this.#file, 'r');
    let text: string;
    try {
      const size = (await handle.stat()).size;
      // One byte before the mark, to see whether the mark fell inside a line.
      const from = Math.max(0, mark - 1);
      const buffer = Buffer.alloc(size - from);
      await handle.read(buffer, 0, buffer.length, from);
      // OpenBao may be writing a line right now: only whole lines count, from the first line that
      // starts at or after the mark to the last one that is finished.
      const start = mark === 0 ? 0 : buffer.indexOf(0x0a) + 1;
      const end = buffer.lastIndexOf(0x0a) + 1;
      text = end > start ? buffer.subarray(start, end).toString('utf8') : '';
    } finally {
      await handle.close();
    }
    let logins = 0;
    let mountLookups = 0;
    let reads = 0;
    let other = 0;
    const pathsRead = new Set<string>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line) as {
        type: string;
        auth?: { metadata?: Record<string, string> | null };
        request?: { path?: string };
      };
      const path = entry.request?.path ?? '';
      // Logins carry the role in their answer only; everything else in the request.
      if (path === 'auth/approle/login') {
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

/**
 * Writes kube-apiserver has served (POST, PUT, PATCH, APPLY, DELETE) to what the operator writes:
 * Secrets, SecretDefinitions (status) and Events, from the apiserver's own metrics. Leases are left
 * out: the controller-manager and the apiserver renew their own every few seconds.
 */
export async function apiserverWrites(state: StackState): Promise<number> {
  const res = await http(`${state.kube.server}/metrics`, {
    headers: { authorization: `Bearer ${state.kube.adminToken}` },
    ca: await readFile(state.kube.caFile, 'utf8'),
    timeoutMs: 30_000,
  });
  if (res.status !== 200) throw new Error(`kube-apiserver /metrics answered ${res.status}`);
  let total = 0;
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!/verb="(POST|PUT|PATCH|APPLY|DELETE)"/.test(line)) continue;
    if (!/resource="(secrets|secretdefinitions|events)"/.test(line)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/**
 * The managed Secrets as a watch sees them: the value of key `v` in each. Waits resolve as soon
 * as the watch shows the wanted state, and changes are timed as they arrive.
 */
export class SecretWatcher {
  readonly #values = new Map<string, string>();
  readonly #waiters = new Set<() => void>();
  readonly #changedAt = new Map<string, number>();
  #abort: AbortController | undefined;
  #stopped = false;

  async start(kube: KubeApi, labelSelector: string): Promise<void> {
    this.#stopped = false;
    let resourceVersion: string | undefined;
    // The client ends a watch that sees nothing for 2 minutes: resume from the last version seen, and
    // from scratch (replaying every object as ADDED) if that version has expired.
    const begin = async (): Promise<void> => {
      this.#abort = await kube.watch(
        '/api/v1/secrets',
        { labelSelector, ...(resourceVersion ? { resourceVersion } : {}) },
        (type, object) => {
          const secret = object as {
            metadata?: { namespace?: string; name?: string; resourceVersion?: string };
            data?: Record<string, string>;
          };
          resourceVersion = secret.metadata?.resourceVersion ?? resourceVersion;
          if (type === 'ERROR') {
            resourceVersion = undefined;
            return;
          }
          const key = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
          if (type === 'DELETED') this.#values.delete(key);
          else if (type === 'ADDED' || type === 'MODIFIED') {
            const value = Buffer.from(secret.data?.['v'] ?? '', 'base64').toString();
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

  /** How many of `expected` (Secret key to value) hold their value now. */
  correct(expected: ReadonlyMap<string, string>): number {
    let count = 0;
    for (const [key, value] of expected) if (this.#values.get(key) === value) count += 1;
    return count;
  }

  /** When the watch last saw `key` change value (epoch ms). */
  changedAt(key: string): number | undefined {
    return this.#changedAt.get(key);
  }

  /** Resolves when every Secret in `expected` holds its value; rejects after `timeoutMs`. */
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

/** Percentile `p` (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}
