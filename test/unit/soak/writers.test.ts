import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  auditMark,
  auditWrite,
  checkWriters,
  operatorWritesSince,
  writesSince,
  type AuditWrite,
} from '../../../soak/writers.ts';

const lease = 'run-0/secrets-manager-soak';

function write(writer: string, at: number, resource = 'secrets', name = 's1'): AuditWrite {
  const namespace = resource === 'leases' ? 'run-0' : 'run-1';
  return {
    at,
    done: at + 5,
    writer,
    verb: 'patch',
    resource,
    namespace,
    name: resource === 'leases' ? 'secrets-manager-soak' : name,
    code: 200,
  };
}

test("an audit line is a replica's write only when it is answered, below 400, from secrets-manager's User-Agent", () => {
  const line = (over: Record<string, unknown>): string =>
    JSON.stringify({
      stage: 'ResponseComplete',
      verb: 'patch',
      userAgent: 'secrets-manager (host_42)',
      objectRef: { resource: 'secrets', namespace: 'run-1', name: 's1' },
      responseStatus: { code: 200 },
      requestReceivedTimestamp: '2026-12-04T10:00:00.123456Z',
      stageTimestamp: '2026-12-04T10:00:00.130000Z',
      ...over,
    });
  assert.deepEqual(auditWrite(line({})), {
    at: Date.parse('2026-12-04T10:00:00.123Z'),
    done: Date.parse('2026-12-04T10:00:00.130Z'),
    writer: 'host_42',
    verb: 'patch',
    resource: 'secrets',
    namespace: 'run-1',
    name: 's1',
    code: 200,
  });
  assert.equal(auditWrite(line({ responseStatus: { code: 409 } })), undefined);
  assert.equal(auditWrite(line({ userAgent: 'kubectl/v1.35' })), undefined);
  assert.equal(auditWrite(line({ stage: 'ResponseStarted' })), undefined);
  assert.equal(auditWrite('{not json'), undefined);
});

test('a handover is not a second writer: each writes while it holds the Lease', () => {
  const report = checkWriters(
    [write('a', 0, 'leases'), write('a', 100), write('b', 1000, 'leases'), write('b', 1100), write('a', 900)],
    lease,
    'run-',
  );
  assert.deepEqual(report.secondWriters, []);
  assert.deepEqual(report.writesBy, { a: 2, b: 1 });
  assert.equal(report.handovers, 1);
});

test('a thawed leader that writes after its successor took the Lease is a second writer', () => {
  const report = checkWriters(
    [
      write('a', 0, 'leases'),
      write('b', 1000, 'leases'),
      write('b', 1100),
      write('a', 1200, 'secrets', 's9'),
    ],
    lease,
    'run-',
  );
  assert.deepEqual(report.secondWriters, [
    `a patch secrets run-1/s9 at ${new Date(1200).toISOString()} while b held the Lease`,
  ]);
});

test("a write before any Lease, or in another run's namespaces, is judged by its own rule", () => {
  assert.equal(checkWriters([write('a', 10)], lease, 'run-').secondWriters.length, 1);
  assert.deepEqual(checkWriters([write('a', 10)], lease, 'other-').secondWriters, []);
});

test("the operator's cost counts its writes to the run's objects from the load's start, not the Lease's renewals", () => {
  const foreign: AuditWrite = { ...write('a', 1_500), namespace: 'kube-system' };
  const writes = [
    write('a', 900),
    write('a', 1_000, 'leases'),
    write('a', 1_000),
    write('b', 2_000, 'events', 'e1'),
    write('b', 2_100, 'leases'),
    write('b', 2_200, 'secretdefinitions', 'd1'),
    foreign,
  ];
  assert.equal(operatorWritesSince(writes, 1_000, lease, 'run-'), 3);
  assert.equal(operatorWritesSince(writes, 2_300, lease, 'run-'), 0);
});

test('writes are read across the log’s rotations: the rest of the marked file, every backup after it (none before it), then the new log', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'kube-apiserver-audit.log');
  const line = (name: string): string =>
    `${JSON.stringify({
      stage: 'ResponseComplete',
      verb: 'patch',
      userAgent: 'secrets-manager (host_1)',
      objectRef: { resource: 'secrets', namespace: 'run-1', name },
      responseStatus: { code: 200 },
      requestReceivedTimestamp: '2026-12-04T10:00:00.000000Z',
      stageTimestamp: '2026-12-04T10:00:00.010000Z',
    })}\n`;
  // A rotation before the run started: that backup is not the run's.
  await writeFile(file, line('an earlier run'));
  await rename(file, join(dir, 'kube-apiserver-audit-2026-12-04T09-59-59.000.log'));
  await writeFile(file, line('before'));
  const mark = await auditMark(file);
  await appendFile(file, line('a'));
  // The apiserver renames the full log, with the time in the name, and starts a new one; twice.
  await rename(file, join(dir, 'kube-apiserver-audit-2026-12-04T10-00-01.000.log'));
  await writeFile(file, line('b'));
  await rename(file, join(dir, 'kube-apiserver-audit-2026-12-04T10-00-02.000.log'));
  await writeFile(file, line('c') + line('d'));
  await writeFile(join(dir, 'kube-apiserver.log'), line('not the audit log'));
  const names = (await writesSince(file, mark)).map((w) => w.name);
  assert.deepEqual(names, ['a', 'b', 'c', 'd']);
});

test('a marked log that rotated away and was removed is an error, not a count of the last file alone', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'kube-apiserver-audit.log');
  await writeFile(file, '{"auditID":"first"}\n');
  const mark = await auditMark(file);
  await rm(file);
  // The new log may well get the removed one's inode number.
  await writeFile(file, '{"auditID":"other"}\n');
  await assert.rejects(writesSince(file, mark), /audit log marked at the start is gone/);
});
