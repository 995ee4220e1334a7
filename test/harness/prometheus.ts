// A real Prometheus for tests, built by build.ts from Go modules like the rest of the stack: it
// scrapes the given targets every second, as the chart's ServiceMonitor would have
// prometheus-operator scrape the operator (honor_labels, and the target's namespace and job
// labels), and answers PromQL over its HTTP API. One per test that needs it; stopped by the test.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { http } from './http.ts';
import { freePorts, startDaemon, stopDaemon, waitUntilReady } from './processes.ts';

export interface PrometheusTarget {
  /** host:port of a /metrics endpoint. */
  readonly address: string;
  /** The labels the ServiceMonitor's discovery would add (namespace, job, ...). */
  readonly labels: Readonly<Record<string, string>>;
}

/** One instant-query answer: each series' labels and its value. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface RunningPrometheus {
  readonly url: string;
  /** An instant query; a query Prometheus refuses (bad PromQL) throws with its error. */
  query(expr: string): Promise<PromSample[]>;
  stop(): Promise<void>;
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

export async function startPrometheus(
  binary: string,
  dir: string,
  targets: readonly PrometheusTarget[],
): Promise<RunningPrometheus> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    scrape_configs: [
      {
        job_name: 'secrets-manager',
        honor_labels: true,
        static_configs: targets.map((t) => ({ targets: [t.address], labels: t.labels })),
      },
    ],
  };
  // JSON is YAML: no YAML writer needed.
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const daemon = startDaemon({
    name: 'prometheus',
    command: binary,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // An instant query looks 5 minutes back for a sample by default: 30 s is plenty at 1 s scrapes.
      '--query.lookback-delta=30s',
      // New targets reach the scrapers on a 5 s tick by default: the first scrape comes sooner.
      '--scrape.discovery-reload-interval=100ms',
    ],
    logFile: join(dir, 'prometheus.log'),
  });
  await waitUntilReady(daemon, async () => (await http(`${url}/-/ready`)).status === 200, 60_000);
  return {
    url,
    async query(expr) {
      const answer = await http(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const parsed = JSON.parse(answer.body) as QueryAnswer;
      if (parsed.status !== 'success' || !parsed.data)
        throw new Error(`Prometheus refused ${expr}: ${parsed.error ?? answer.body}`);
      if (parsed.data.resultType !== 'vector')
        throw new Error(`${expr}: a ${parsed.data.resultType}, not an instant vector`);
      return parsed.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    stop: () => stopDaemon(daemon.pid),
  };
}
