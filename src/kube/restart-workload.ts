// The patch that restarts a Deployment, StatefulSet or DaemonSet, as `kubectl rollout restart`
// does: a new annotation on its pod template.

import { restartedForAnnotation } from '../api/types.ts';
import { apiName } from './api-name.ts';
import { toKubeError } from './errors.ts';
import { mergePatch, type KubeApi } from './kube-api.ts';
import { toWorkload, type Workload } from './workload.ts';

/**
 * Restarts `workload`: its pod template gets the restarted-for annotation `restartedFor`, so the
 * workload's controller rolls its pods as `kubectl rollout restart` does. Answers the workload as
 * the apiserver then holds it.
 */
export async function restartWorkload(
  api: KubeApi,
  workload: Pick<Workload, 'kind' | 'namespace' | 'name' | 'resourceVersion'>,
  restartedFor: Readonly<Record<string, string>>,
): Promise<Workload | undefined> {
  const request = {
    name: apiName(workload.name),
    namespace: apiName(workload.namespace),
    // Only if the workload is still the version the map was computed from: a 409 otherwise.
    body: {
      metadata: { resourceVersion: workload.resourceVersion },
      spec: {
        template: { metadata: { annotations: { [restartedForAnnotation]: JSON.stringify(restartedFor) } } },
      },
    },
  };
  let patched: unknown;
  try {
    patched =
      workload.kind === 'Deployment'
        ? await api.apps.patchNamespacedDeployment(request, mergePatch)
        : workload.kind === 'StatefulSet'
          ? await api.apps.patchNamespacedStatefulSet(request, mergePatch)
          : await api.apps.patchNamespacedDaemonSet(request, mergePatch);
  } catch (error) {
    // The library's error holds the answer's body and headers: only its status and Status travel on.
    throw toKubeError(error, `restarting ${workload.kind} ${workload.namespace}/${workload.name}`);
  }
  return toWorkload(workload.kind, patched);
}
