// Workloads for rollout-restart tests: manifests with no replicas (no pod ever runs here), and the
// pod template revisions their controllers make (ReplicaSets, ControllerRevisions).

import { kubectl, waitFor } from './stack.ts';

/** How a pod template reads the Secret: an env variable, or a projected volume of an init container. */
export type SecretUse = 'env' | 'projected-init';

/** A workload with no replicas (nothing runs here) whose pod template reads Secret `secret`. */
export function workload(
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet',
  name: string,
  secret: string,
  autoReload: boolean,
  use: SecretUse = 'env',
): string {
  const container = { name: 'app', image: 'registry.example/app:1' };
  const podSpec =
    use === 'env'
      ? {
          containers: [
            {
              ...container,
              env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } }],
            },
          ],
        }
      : {
          initContainers: [
            { ...container, name: 'setup', volumeMounts: [{ name: 'config', mountPath: '/config' }] },
          ],
          containers: [container],
          volumes: [{ name: 'config', projected: { sources: [{ secret: { name: secret } }] } }],
        };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind,
    metadata: {
      name,
      ...(autoReload ? { annotations: { 'secrets-manager.tuenti.io/auto-reload': 'true' } } : {}),
    },
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas: 0 }),
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  });
}

/** The creation times of a Deployment's ReplicaSets, oldest first, in ms. */
export async function replicaSetTimes(ns: string, name: string): Promise<number[]> {
  const list = JSON.parse(
    await kubectl(['get', 'replicasets', '-n', ns, '-l', `app=${name}`, '-o', 'json']),
  ) as {
    items: { metadata: { creationTimestamp: string } }[];
  };
  return list.items.map((rs) => Date.parse(rs.metadata.creationTimestamp)).sort((a, b) => a - b);
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
