// One writer at a time, from the apiserver's audit log (the harness logs every write to Secrets,
// Events, Leases and SecretDefinitions with its User-Agent): each replica names itself there as
// `secrets-manager (<identity>)`. The Lease's holder is whoever last wrote it successfully; a
// write by any other replica while it holds the Lease is a second writer.

import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { wholeLines } from '../bench/observe.ts';

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

/** Where the log stood: its file (by inode, which a rename keeps, and its first bytes) and size. */
export interface AuditMark {
  /** 0 when there was no log yet. */
  readonly ino: number;
  /** The file's first bytes: an inode number can be reused once a file is removed. */
  readonly head: string;
  readonly offset: number;
}

const headBytes = 512;

async function headOf(path: string, length: number): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead).toString('latin1');
  } finally {
    await file.close();
  }
}

/** The log's file and size now: read from there on with `writesSince`. */
export async function auditMark(file: string): Promise<AuditMark> {
  const now = await stat(file).catch(() => undefined);
  if (!now) return { ino: 0, head: '', offset: 0 };
  return { ino: now.ino, head: await headOf(file, Math.min(now.size, headBytes)), offset: now.size };
}

/**
 * The files the log has written to since `mark`, oldest first, each with the byte to start from.
 * The apiserver rotates a full log (100 MB by default) by renaming it to `<name>-<time><ext>`
 * beside it and starting a new one; the marked file is found among those backups by its inode
 * and first bytes. Missed by the first 60-minute run that passed 100 MB: it read only the last
 * minute's writes.
 */
export async function auditFilesSince(
  file: string,
  mark: AuditMark,
): Promise<{ readonly path: string; readonly start: number }[]> {
  const ext = extname(file);
  const stem = basename(file, ext);
  const backups = (await readdir(dirname(file)))
    .filter((name) => name.startsWith(`${stem}-`) && name.endsWith(ext))
    .sort()
    .map((name) => join(dirname(file), name));
  const files = [...backups, file];
  if (mark.ino === 0) return files.map((path) => ({ path, start: 0 }));
  const isMarked = async (path: string): Promise<boolean> => {
    const now = await stat(path).catch(() => undefined);
    return now?.ino === mark.ino && (await headOf(path, mark.head.length)) === mark.head;
  };
  for (const [at, path] of files.entries()) {
    if (await isMarked(path))
      return files.slice(at).map((path, i) => ({ path, start: i === 0 ? mark.offset : 0 }));
  }
  throw new Error(
    `the apiserver's audit log marked at the start is gone from ${dirname(file)} (rotated and removed): its writes cannot be counted`,
  );
}

/** The replicas' writes logged since `mark`, across the log's rotations. */
export async function writesSince(file: string, mark: AuditMark): Promise<AuditWrite[]> {
  const writes: AuditWrite[] = [];
  for (const { path, start } of await auditFilesSince(file, mark)) {
    for await (const line of wholeLines(createReadStream(path, { start }))) {
      const write = auditWrite(line);
      if (write) writes.push(write);
    }
  }
  return writes;
}
