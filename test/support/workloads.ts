// Workloads for rollout-restart tests: manifests with no replicas (no pod ever runs here), and the
// pod template revisions their controllers make (ReplicaSets, ControllerRevisions).

import { kubectl, waitFor } from './stack.ts';

/** A workload with no replicas (nothing runs here) whose pod template reads Secret `secret`. */
export function workload(
  kind: 'Deployment' | 'StatefulSet',
  name: string,
  secret: string,
  autoReload: boolean,
): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind,
    metadata: {
      name,
      ...(autoReload ? { annotations: { 'secrets-manager.tuenti.io/auto-reload': 'true' } } : {}),
    },
    spec: {
      replicas: 0,
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } }],
            },
          ],
        },
      },
    },
  });
}

/** The pod template revisions a workload's controller made: ReplicaSets or ControllerRevisions. */
export async function revisions(
  ns: string,
  kind: 'Deployment' | 'StatefulSet',
  name: string,
): Promise<number> {
  const resource = kind === 'Deployment' ? 'replicasets' : 'controllerrevisions';
  const list = JSON.parse(await kubectl(['get', resource, '-n', ns, '-l', `app=${name}`, '-o', 'json'])) as {
    items: unknown[];
  };
  return list.items.length;
}

export async function waitRevisions(
  ns: string,
  kind: 'Deployment' | 'StatefulSet',
  name: string,
  count: number,
): Promise<void> {
  await waitFor(`${kind} ${name} at ${count} revisions`, async () =>
    (await revisions(ns, kind, name)) === count ? true : undefined,
  );
}
