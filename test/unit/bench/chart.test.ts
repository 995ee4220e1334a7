import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressCurve } from '../../../bench/benchmark.ts';
import { phases, renderSyncChart, syncChartSpec, type ChartInput } from '../../../bench/chart.ts';

const input: ChartInput = {
  options: { n: 1000, paths: 500, namespaces: 10 },
  floorSeconds: 1.5,
  syncSeconds: 6,
  progress: {
    floor: progressCurve(Array.from({ length: 1000 }, (_, i) => (i + 1) * 0.0015)),
    definitionFloor: progressCurve(Array.from({ length: 1000 }, (_, i) => (i + 1) * 0.004)),
    sync: progressCurve(Array.from({ length: 1000 }, (_, i) => (i + 1) * 0.006)),
  },
};

test('a progress curve: from 0 to every item done, ascending, at most 200 points', () => {
  const curve = progressCurve([3, 1, 2]);
  assert.deepEqual(curve, [
    [0, 0],
    [1, 1],
    [2, 2],
    [3, 3],
  ]);
  const long = progressCurve(Array.from({ length: 10_001 }, (_, i) => i / 100));
  assert.ok(long.length <= 202, `${long.length} points`);
  assert.deepEqual(long.at(-1), [100, 10_001], 'the last item is always there');
  assert.ok(
    long.every((p, i) => i === 0 || (p[0] >= (long[i - 1]?.[0] ?? 0) && p[1] > (long[i - 1]?.[1] ?? 0))),
  );
  assert.deepEqual(progressCurve([]), [[0, 0]]);
});

test('the picture draws the three curves against N, and says the ratio to the floor', () => {
  const spec = syncChartSpec(input) as unknown as {
    data: { values: { phase: string; done: number }[] };
    title: { text: string; subtitle: string };
  };
  const byPhase = new Map<string, number>();
  for (const v of spec.data.values) byPhase.set(v.phase, Math.max(byPhase.get(v.phase) ?? 0, v.done));
  assert.deepEqual(
    [...byPhase],
    [
      [phases.floor, 1000],
      [phases.definitionFloor, 1000],
      [phases.sync, 1000],
    ],
  );
  assert.equal(spec.title.text, '1,000 definitions over 500 paths in 10 namespaces');
  assert.equal(spec.title.subtitle, 'all correct after 6.0 s, 4.00 x the floor of 1.5 s');
});

test('it renders to an SVG document with its legend and axes', async () => {
  const svg = await renderSyncChart(input);
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const words of [...Object.values(phases), 'Secrets done', 'seconds since the phase started'])
    assert.ok(svg.includes(words), `the SVG says "${words}"`);
  // Three curves: one path per line.
  assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 3);
});
