import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { Metrics } from '../../../src/observability/metrics.ts';
import { processMetrics } from '../../../src/observability/process-metrics.ts';
import { RuntimeMetrics } from '../../../src/observability/runtime-metrics.ts';
import { startHttpServer } from '../../../src/observability/server.ts';

function sampleOf(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test("/metrics serves every registry's series, each with its own value", async (t) => {
  const operator = new Registry();
  const process = new Registry();
  new Counter({ name: 'a_total', help: 'a', registers: [operator] }).inc(3);
  new Counter({ name: 'b_total', help: 'b', registers: [process] }).inc(5);
  const server = await startHttpServer({ host: '127.0.0.1', port: 0 }, [operator, process], {
    notReady: () => undefined,
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), operator.contentType);
  const text = await response.text();
  assert.equal(sampleOf(text, 'a_total'), 3);
  assert.equal(sampleOf(text, 'b_total'), 5);
});

test("the process's series are the original's process_* names, with this process's values, from one registry", async () => {
  const registry = processMetrics();
  assert.equal(processMetrics(), registry, 'collected once per process');
  const text = await registry.metrics();
  const rss = sampleOf(text, 'process_resident_memory_bytes') ?? 0;
  const actual = process.memoryUsage.rss();
  assert.ok(rss > actual / 2 && rss < actual * 2, `RSS ${rss} against ${actual}`);
  const start = sampleOf(text, 'process_start_time_seconds') ?? 0;
  const expected = Date.now() / 1000 - process.uptime();
  assert.ok(Math.abs(start - expected) < 2, `start ${start} against ${expected}`);
  assert.ok((sampleOf(text, 'process_open_fds') ?? 0) > 2);
  const heap = sampleOf(text, 'nodejs_heap_size_used_bytes') ?? 0;
  const used = process.memoryUsage().heapUsed;
  assert.ok(heap > used / 2 && heap < used * 2, `heap used ${heap} against ${used}`);
});

test("the operator's series and the process's never share a name, so /metrics serves each family once", () => {
  const metrics = new Metrics();
  const runtime = new RuntimeMetrics(metrics.registry, 'SecretDefinition');
  runtime.controllerStarted(2);
  runtime.observeQueue(() => ({ waiting: 0, inProgressMs: () => [] }));
  runtime.leading('secrets-manager', true);
  runtime.restRequest('apiserver:6443', 'GET', 200);
  const operator = metrics.registry.getMetricsAsArray().map((m) => m.name);
  const processNames = processMetrics()
    .getMetricsAsArray()
    .map((m) => m.name);
  assert.ok(operator.length > 30 && processNames.length > 10);
  assert.deepEqual(
    operator.filter((name) => processNames.includes(name)),
    [],
  );
  assert.ok(processNames.includes('process_resident_memory_bytes'));
});
