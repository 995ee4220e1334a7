// One writer at a time, from the apiserver's audit log (the harness logs every write to Secrets,
// Events, Leases and SecretDefinitions with its User-Agent): each replica names itself there as
// `secrets-manager (<identity>)`. The Lease's holder is whoever last wrote it successfully; a
// write by any other replica while it holds the Lease is a second writer.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface AuditWrite {
  /** Epoch ms the apiserver received it. */
  readonly at: number;
  /** Epoch ms it answered. */
  readonly done: number;
  /** The replica's identity, from its User-Agent. */
  readonly writer: string;
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  readonly code: number;
}

const agent = /^secrets-manager \((.+)\)$/;

/** One audit line as a write by a replica, or undefined (another client, a refused write, a bad line). */
export function auditWrite(line: string): AuditWrite | undefined {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as {
    stage?: unknown;
    verb?: unknown;
    userAgent?: unknown;
    objectRef?: { resource?: unknown; namespace?: unknown; name?: unknown };
    responseStatus?: { code?: unknown };
    requestReceivedTimestamp?: unknown;
    stageTimestamp?: unknown;
  };
  const writer = typeof e.userAgent === 'string' ? agent.exec(e.userAgent)?.[1] : undefined;
  const code = e.responseStatus?.code;
  if (e.stage !== 'ResponseComplete' || writer === undefined || typeof code !== 'number') return undefined;
  const at = Date.parse(String(e.requestReceivedTimestamp));
  const done = Date.parse(String(e.stageTimestamp));
  if (!Number.isFinite(at) || !Number.isFinite(done) || code >= 400) return undefined;
  return {
    at,
    done,
    writer,
    verb: text(e.verb),
    resource: text(e.objectRef?.resource),
    namespace: text(e.objectRef?.namespace),
    name: text(e.objectRef?.name),
    code,
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export interface WriterReport {
  /** Writes to the run's objects by each replica (identity: count). */
  readonly writesBy: Readonly<Record<string, number>>;
  /** Times the Lease changed hands. */
  readonly handovers: number;
  /** Each write by a replica that did not hold the Lease then, described. */
  readonly secondWriters: readonly string[];
}

/**
 * Holds `writes` (any order) to one writer at a time: the Lease `lease` (namespace/name) passes to
 * a replica when its write of the Lease is answered, and every other write in a namespace starting
 * with `prefix` must come from the replica holding it when the apiserver received that write.
 */
export function checkWriters(writes: readonly AuditWrite[], lease: string, prefix: string): WriterReport {
  const isLease = (w: AuditWrite): boolean => isWriteOf(w, lease);
  const terms = writes
    .filter(isLease)
    .map((w) => ({ from: w.done, holder: w.writer }))
    .sort((a, b) => a.from - b.from);
  const others = writes
    .filter((w) => !isLease(w) && w.namespace.startsWith(prefix))
    .sort((a, b) => a.at - b.at);
  const writesBy: Record<string, number> = {};
  const secondWriters: string[] = [];
  let handovers = 0;
  for (let i = 1; i < terms.length; i += 1) if (terms[i]?.holder !== terms[i - 1]?.holder) handovers += 1;
  let term = -1;
  for (const write of others) {
    writesBy[write.writer] = (writesBy[write.writer] ?? 0) + 1;
    while (term + 1 < terms.length && (terms[term + 1]?.from ?? Infinity) < write.at) term += 1;
    const holder = terms[term]?.holder;
    if (holder !== write.writer) {
      secondWriters.push(
        `${write.writer} ${write.verb} ${write.resource} ${write.namespace}/${write.name} at ${new Date(write.at).toISOString()} while ${holder ?? 'no one'} held the Lease`,
      );
    }
  }
  return { writesBy, handovers, secondWriters };
}

/**
 * The replicas' writes received from `since` (epoch ms) on to objects in namespaces starting with
 * `prefix`, the Lease `lease`'s renewals left out: the operator's cost of the load.
 */
export function operatorWritesSince(
  writes: readonly AuditWrite[],
  since: number,
  lease: string,
  prefix: string,
): number {
  return writes.filter((w) => w.at >= since && w.namespace.startsWith(prefix) && !isWriteOf(w, lease)).length;
}

/** Whether `write` is one of the Lease `lease` (namespace/name). */
function isWriteOf(write: AuditWrite, lease: string): boolean {
  return write.resource === 'leases' && `${write.namespace}/${write.name}` === lease;
}

/** The log's size now: read from there on with `writesSince`. */
export async function auditMark(file: string): Promise<number> {
  return (await stat(file).catch(() => ({ size: 0 }))).size;
}

/** The replicas' writes logged in `file` from byte `mark` on. */
export async function writesSince(file: string, mark: number): Promise<AuditWrite[]> {
  const writes: AuditWrite[] = [];
  const lines = createInterface({ input: createReadStream(file, { start: mark }), crlfDelay: Infinity });
  for await (const line of lines) {
    const write = auditWrite(line);
    if (write) writes.push(write);
  }
  return writes;
}
