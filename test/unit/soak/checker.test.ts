import assert from 'node:assert/strict';
import { test } from 'node:test';
import { valueOrigin } from '../../../soak/checker.ts';
import { Ledger } from '../../../soak/ledger.ts';
import { slopeOf } from '../../../soak/report.ts';
import type { UsageSample } from '../../../soak/replicas.ts';

test('a value is explained only by a path its definition named, at its place in that path’s history', () => {
  const ledger = new Ledger();
  ledger.willWrite('secret/a', 'v-a-0');
  ledger.willWrite('secret/a', 'v-a-1');
  ledger.willWrite('secret/b', 'v-b-0');
  assert.deepEqual(valueOrigin('v-a-1', ['secret/a'], ledger), { path: 'secret/a', index: 1 });
  assert.deepEqual(valueOrigin('v-b-0', ['secret/a', 'secret/b'], ledger), { path: 'secret/b', index: 0 });
  assert.equal(valueOrigin('v-b-0', ['secret/a'], ledger), undefined, "another path's value is foreign");
  assert.equal(valueOrigin('v-a-2', ['secret/a'], ledger), undefined, 'a value Vault never held is foreign');
  assert.equal(ledger.latest('secret/a'), 'v-a-1');
  assert.equal(ledger.generation('secret/a'), 2);
});

test('the tampered values are the load’s own, and only those', () => {
  const ledger = new Ledger();
  ledger.willTamper('tampered-0');
  assert.equal(ledger.isTampered('tampered-0'), true);
  assert.equal(ledger.isTampered('tampered-1'), false);
});

const sample = (t: number, pid: number, rssMiB: number, heapUsedMiB: number | null = null): UsageSample => ({
  t,
  replica: 0,
  pid,
  rssMiB,
  cpuSeconds: 0,
  heapUsedMiB,
});
const rssSlope = (samples: readonly UsageSample[], replica: number, fromS: number): number | null =>
  slopeOf(samples, replica, fromS, 'rssMiB');

test('the RSS slope is MiB per hour over the window, of a process that ran through it', () => {
  // 1 MiB a minute: 60 MiB an hour.
  const growing = Array.from({ length: 11 }, (_, k) => sample(k * 60, 10, 100 + k));
  assert.ok(Math.abs((rssSlope(growing, 0, 300) ?? 0) - 60) < 1e-9);
  const flat = Array.from({ length: 11 }, (_, k) => sample(k * 60, 10, 100));
  assert.equal(rssSlope(flat, 0, 300), 0);
});

test('the heap slope is taken over the samples that scraped it, and is apart from the RSS', () => {
  // RSS flat; the heap, scraped every other sample, grows 2 MiB a minute: 120 MiB an hour.
  const samples = Array.from({ length: 21 }, (_, k) => sample(k * 30, 10, 100, k % 2 === 0 ? 50 + k : null));
  assert.ok(Math.abs((slopeOf(samples, 0, 0, 'heapUsedMiB') ?? 0) - 120) < 1e-9);
  assert.equal(slopeOf(samples, 0, 0, 'rssMiB'), 0);
  const twoScrapes = samples.map((s, k) => (k < 17 ? { ...s, heapUsedMiB: null } : s));
  assert.equal(slopeOf(twoScrapes, 0, 0, 'heapUsedMiB'), null, 'under three scraped samples');
});

test('no RSS slope for a replica restarted within the window, nor with under three samples', () => {
  const restarted = [
    sample(0, 10, 100),
    sample(60, 10, 100),
    sample(400, 11, 50),
    sample(460, 11, 80),
    sample(520, 11, 90),
  ];
  assert.equal(rssSlope(restarted, 0, 300), null);
  assert.equal(rssSlope([sample(0, 10, 1), sample(400, 10, 2)], 0, 300), null);
});
