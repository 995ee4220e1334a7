import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from '../../../bench/observe.ts';

const entry = (type: 'request' | 'response', path: string, role: string): string =>
  `${JSON.stringify({ type, auth: { metadata: { role_name: role } }, request: { path } })}\n`;

test("OpenBao's audit log is counted line by line from the mark: whole lines only, one role's, across read chunks", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vault-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'audit.log');
  const log = new AuditLog(file);
  await writeFile(file, entry('request', 'secret/data/before', 'soak'));
  // The mark falls inside the next line: that line is not the run's.
  const half = entry('request', 'secret/data/straddles', 'soak');
  await appendFile(file, half.slice(0, 20));
  const mark = await log.mark();
  await appendFile(file, half.slice(20));
  // Far more than one read chunk (64 KiB) of lines, so lines are cut across chunks.
  const lines: string[] = [];
  for (let i = 0; i < 3_000; i += 1) {
    lines.push(entry('request', `secret/data/p${i % 700}`, 'soak'));
    if (i % 10 === 0) lines.push(entry('request', `secret/data/p${i}`, 'someone-else'));
    if (i % 1_000 === 0) lines.push(entry('response', 'auth/approle-soak/login', 'soak'));
    if (i % 500 === 0) lines.push(entry('request', 'sys/internal/ui/mounts/secret/p1', 'soak'));
  }
  await appendFile(file, lines.join('') + entry('request', 'sys/leases/renew', 'soak'));
  // OpenBao is writing a line now: it is not counted yet.
  await appendFile(file, entry('request', 'secret/data/unfinished', 'soak').slice(0, 30));
  const counted = await log.requestsSince(mark, 'soak');
  assert.equal(counted.reads, 3_000);
  assert.equal(counted.pathsRead.size, 700);
  assert.equal(counted.logins, 3);
  assert.equal(counted.mountLookups, 6);
  assert.equal(counted.other, 1);
  assert.equal(
    (await log.requestsSince(0, 'soak')).reads,
    3_002,
    'from the start, the lines before the mark count too',
  );
});
