// What each dependency costs the operator just by being loaded: RSS, V8 heap and external memory
// after each import, in MiB. `node bench/import-cost.ts` (after `npm run build` for the last row).
//
// This is the floor under the operator's memory, before it holds a single definition. The two
// clients weigh most: @kubernetes/client-node loads every generated API group and model (its
// KubeConfig imports them all), node-vault its request library's defaults and mustache.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const mib = (bytes: number): string => (bytes / 1048576).toFixed(0).padStart(5);
function row(what: string): void {
  const m = process.memoryUsage();
  process.stdout.write(
    `${what.padEnd(26)} rss ${mib(m.rss)}  heap ${mib(m.heapUsed)}  external ${mib(m.external)}\n`,
  );
}

row('node alone');
for (const name of [
  'winston',
  'prom-client',
  'ajv',
  'yaml',
  'commander',
  'undici',
  'node-vault',
  '@kubernetes/client-node',
]) {
  await import(name);
  row(name);
}
const app = join(import.meta.dirname, '..', 'dist', 'app.js');
if (existsSync(app)) {
  await import(pathToFileURL(app).href);
  row('dist/app.js (the operator)');
}
