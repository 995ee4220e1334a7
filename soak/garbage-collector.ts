// The garbage collector learns of a new kind (the CRD, just applied) only at its next discovery,
// and until then leaves the Secrets of deleted definitions in place. A probe waits for it, so the
// checker's orphan rule holds the operator to the cluster it runs in, not to a cluster still
// starting.

import {
  definitionGroup,
  definitionKind,
  definitionPlural,
  definitionVersion,
  pause,
  statusOf,
  type SoakKube,
} from './kube.ts';

/** Until a Secret owned by a deleted definition in `namespace` is collected; throws after `timeoutMs`. */
export async function untilGarbageCollectorFollowsDefinitions(
  kube: SoakKube,
  namespace: string,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  const target = { group: definitionGroup, version: definitionVersion, namespace, plural: definitionPlural };
  const name = 'gc-probe';
  const definition = (await kube.custom.createNamespacedCustomObject({
    ...target,
    body: {
      apiVersion: `${definitionGroup}/${definitionVersion}`,
      kind: definitionKind,
      metadata: { name },
      // A path no one reads: the probe is not one of the load's definitions.
      spec: { name, keysMap: { v: { path: 'secret/gc-probe/none', key: 'v' } } },
    },
  })) as { metadata: { uid: string } };
  await kube.core.createNamespacedSecret({
    namespace,
    body: {
      metadata: {
        name,
        ownerReferences: [
          {
            apiVersion: `${definitionGroup}/${definitionVersion}`,
            kind: definitionKind,
            name,
            uid: definition.metadata.uid,
          },
        ],
      },
      stringData: { v: 'probe' },
    },
  });
  await kube.custom.deleteNamespacedCustomObject({ ...target, name });
  for (;;) {
    try {
      await kube.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (statusOf(error) === 404) return (Date.now() - started) / 1000;
      throw error;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `the garbage collector did not collect a deleted definition's Secret within ${timeoutMs / 1000}s`,
      );
    }
    await pause(500);
  }
}
