// The process's own series: the original exported Prometheus' process collector (CPU seconds,
// resident and virtual memory, start time, open and maximum file descriptors) and Go's runtime
// series. prom-client's default metrics give the same process_* names, and Node's heap, garbage
// collection and event loop lag in place of Go's runtime. They belong to the process, not to one
// run of the operator, so they are collected once, into a registry of their own.

import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/** The process's registry, made on first use: the collectors observe GC and the event loop from then on. */
export function processMetrics(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
