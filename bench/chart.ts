// The benchmark's picture: Secrets correct over time while the operator syncs N definitions,
// against the two floors measured in the same run (N plain Secrets created directly; N
// definitions, Secrets and status patches made directly). A Vega-Lite spec rendered to SVG by
// Vega in Node: no browser and no canvas.

import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchResult, ProgressCurve } from './benchmark.ts';

interface Point {
  readonly seconds: number;
  readonly done: number;
  readonly phase: string;
}

/** The legend's words for each curve, in the order drawn. */
export const phases = {
  floor: 'floor: plain Secrets created directly',
  definitionFloor: 'definition floor: definition, Secret and status made directly',
  sync: 'secrets-manager: Secrets correct after the definitions are applied',
} as const;

function points(curve: ProgressCurve, phase: string): Point[] {
  return curve.map(([seconds, done]) => ({ seconds, done, phase }));
}

/** What the picture is drawn from. */
export type ChartInput = Pick<BenchResult, 'progress' | 'syncSeconds' | 'floorSeconds'> & {
  readonly options: Pick<BenchResult['options'], 'n' | 'paths' | 'namespaces'>;
};

/** The Vega-Lite spec of the picture: pure, so it can be checked without rendering. */
export function syncChartSpec(result: ChartInput): TopLevelSpec {
  const { n, paths, namespaces } = result.options;
  const values = [
    ...points(result.progress.floor, phases.floor),
    ...points(result.progress.definitionFloor, phases.definitionFloor),
    ...points(result.progress.sync, phases.sync),
  ];
  const legend = { orient: 'bottom', direction: 'vertical', labelLimit: 0, title: null } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${n.toLocaleString('en')} definitions over ${paths.toLocaleString('en')} paths in ${namespaces} namespaces`,
      subtitle: `all correct after ${result.syncSeconds.toFixed(1)} s, ${(result.syncSeconds / result.floorSeconds).toFixed(2)} x the floor of ${result.floorSeconds.toFixed(1)} s`,
    },
    width: 640,
    height: 320,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'seconds', type: 'quantitative', title: 'seconds since the phase started' },
      y: { field: 'done', type: 'quantitative', title: 'Secrets done', scale: { domain: [0, n] } },
      color: {
        field: 'phase',
        type: 'nominal',
        title: null,
        sort: Object.values(phases),
        scale: { range: ['#9e9e9e', '#616161', '#1565c0'] },
        legend,
      },
      strokeDash: {
        field: 'phase',
        type: 'nominal',
        sort: Object.values(phases),
        scale: {
          range: [
            [4, 3],
            [8, 3],
            [1, 0],
          ],
        },
        // The same legend: Vega-Lite merges the two into one with both colour and dash.
        legend,
      },
    },
  };
}

/** The picture as an SVG document. */
export async function renderSyncChart(result: ChartInput): Promise<string> {
  const view = new View(parse(compile(syncChartSpec(result)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
