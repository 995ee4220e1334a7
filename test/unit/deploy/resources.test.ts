// The two ways to install the operator, the chart and config/, ask for the same resources.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..', '..', '..');

test("the chart's default resources are config/manager's, and the limit is above the request", async () => {
  const values = parse(await readFile(join(root, 'charts/secrets-manager/values.yaml'), 'utf8')) as {
    resources: unknown;
  };
  const deployment = parseAllDocuments(await readFile(join(root, 'config/manager/deployment.yaml'), 'utf8'))
    .map(
      (d) =>
        d.toJS() as {
          kind?: string;
          spec?: { template: { spec: { containers: { resources: unknown }[] } } };
        },
    )
    .find((d) => d.kind === 'Deployment');
  const container = deployment?.spec?.template.spec.containers[0];
  assert.deepEqual(container?.resources, values.resources);
  const mib = (quantity: string): number => Number(/^(\d+)Mi$/.exec(quantity)?.[1]);
  const { requests, limits } = values.resources as {
    requests: { memory: string };
    limits: { memory: string };
  };
  assert.ok(mib(limits.memory) > mib(requests.memory), `${limits.memory} over ${requests.memory}`);
});
