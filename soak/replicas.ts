// The operator as the chart runs it: two replicas with leader election. A replica that exits (it
// was killed, or it stopped on losing its Lease) is started again a second later, as the kubelet
// would, and counted as a restart. Each replica's RSS and CPU are sampled from /proc, and its
// JavaScript heap in use from its /metrics every sixth sample (about as often as Prometheus scrapes).

import { spawn, type ChildProcess } from 'node:child_process';
import { http } from '../test/harness/http.ts';
import { freePorts } from '../test/harness/processes.ts';
import { processUsage } from '../bench/observe.ts';
import { pause } from './kube.ts';

export interface ReplicaOptions {
  /** node's arguments before the operator's: the image's node options and the entry point. */
  readonly command: readonly string[];
  /** The operator's flags, leader election included. */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
}

export interface UsageSample {
  /** Seconds since the replicas started. */
  readonly t: number;
  readonly replica: number;
  readonly pid: number;
  readonly rssMiB: number;
  readonly cpuSeconds: number;
  /** nodejs_heap_size_used_bytes in MiB; null between scrapes, and when the replica did not answer. */
  readonly heapUsedMiB: number | null;
}

/** Samples between two scrapes of a replica's heap. */
export const heapEvery = 6;

interface Replica {
  child: ChildProcess;
  port: number;
  /** Set while a fault holds it (frozen, or killed on purpose): not restarted by the supervisor. */
  held: boolean;
}

export class Replicas {
  readonly #options: ReplicaOptions;
  readonly #replicas: Replica[] = [];
  readonly #started = Date.now();
  readonly samples: UsageSample[] = [];
  /** Exits the soak did not cause itself (a replica that lost its Lease exits, by design). */
  restarts = 0;
  #stopping = false;
  #sampler: NodeJS.Timeout | undefined;
  #ticks = 0;
  #sampling = false;

  constructor(options: ReplicaOptions) {
    this.#options = options;
  }

  async start(count: number, sampleEveryMs: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const [port] = await freePorts(1);
      if (port === undefined) throw new Error('no free port for a replica');
      const replica: Replica = { child: this.#spawn(i, port), port, held: false };
      this.#replicas.push(replica);
      this.#supervise(i, replica);
    }
    this.#sampler = setInterval(() => void this.#sample(), sampleEveryMs);
  }

  #spawn(index: number, port: number): ChildProcess {
    const child = spawn(
      process.execPath,
      [...this.#options.command, `--metrics-addr=127.0.0.1:${port}`, ...this.#options.args],
      { env: { ...this.#options.env }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (chunk: Buffer) =>
      this.#options.log(`replica ${index} (${child.pid ?? '?'}): ${chunk.toString().trim()}`),
    );
    return child;
  }

  #supervise(index: number, replica: Replica): void {
    replica.child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      this.#options.log(`replica ${index} exited (${signal ?? String(code)})`);
      void (async () => {
        while (replica.held && !this.#stopping) await pause(200);
        if (this.#stopping) return;
        await pause(1_000);
        this.restarts += 1;
        replica.child = this.#spawn(index, replica.port);
        this.#supervise(index, replica);
      })();
    });
  }

  /** Samples every replica at once; a tick while the last is still out (a slow scrape) is skipped. */
  async #sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    const scrape = this.#ticks % heapEvery === 0;
    this.#ticks += 1;
    try {
      await Promise.all(
        this.#replicas.map(async ({ child, port, held }, replica) => {
          const pid = child.pid;
          if (pid === undefined || child.exitCode !== null) return;
          const t = (Date.now() - this.#started) / 1000;
          const usage = await processUsage(pid).catch(() => undefined);
          if (!usage) return;
          const heapUsedMiB = scrape && !held ? heapUsedOf(await metricsOf(port)) : null;
          const { rssMiB, cpuSeconds } = usage;
          this.samples.push({ t, replica, pid, rssMiB, cpuSeconds, heapUsedMiB });
        }),
      );
    } finally {
      this.#sampling = false;
    }
  }

  /** The replica that says it leads (its secrets_manager_leader gauge is 1), if one does now. */
  async leader(): Promise<number | undefined> {
    for (const [index, replica] of this.#replicas.entries()) {
      if (replica.held || replica.child.exitCode !== null) continue;
      if (/^secrets_manager_leader 1$/m.test(await metricsOf(replica.port))) return index;
    }
    return undefined;
  }

  /** Waits until a replica leads; answers which, or throws after `timeoutMs`. */
  async untilLeader(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = await this.leader();
      if (index !== undefined) return index;
      if (Date.now() > deadline) throw new Error(`no replica led within ${timeoutMs / 1000}s`);
      await pause(250);
    }
  }

  /** Waits until every replica answers /readyz with 200 (the standby is ready too). */
  async untilAllReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let ready = 0;
      for (const replica of this.#replicas) {
        const res = await http(`http://127.0.0.1:${replica.port}/readyz`, { timeoutMs: 2_000 }).catch(
          () => undefined,
        );
        if (res?.status === 200) ready += 1;
      }
      if (ready === this.#replicas.length) return;
      if (Date.now() > deadline) throw new Error(`${ready} of ${this.#replicas.length} replicas ready`);
      await pause(250);
    }
  }

  /** Sends `signal` to one replica. `hold`: do not restart it if it exits, until `release`. */
  signal(index: number, signal: NodeJS.Signals, hold: boolean): void {
    const replica = this.#replicas[index];
    if (!replica) throw new RangeError(`no replica ${index}`);
    replica.held = hold;
    replica.child.kill(signal);
  }

  release(index: number): void {
    const replica = this.#replicas[index];
    if (replica) replica.held = false;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#sampler);
    await Promise.all(
      this.#replicas.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** A replica's /metrics text; empty when it does not answer within two seconds. */
async function metricsOf(port: number): Promise<string> {
  const res = await http(`http://127.0.0.1:${port}/metrics`, { timeoutMs: 2_000 }).catch(() => undefined);
  return res?.body ?? '';
}

/** The JavaScript heap in use, MiB, from a /metrics text; null when it is not there. */
function heapUsedOf(metrics: string): number | null {
  const bytes = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1]);
  return Number.isFinite(bytes) && bytes > 0 ? bytes / 1024 / 1024 : null;
}
