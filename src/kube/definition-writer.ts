// Writes to SecretDefinitions: their status subresource, and the removal of the original
// operator's finalizer.

import { group, plural, version, type SecretDefinitionStatus } from '../api/types.ts';
import { apiName } from './api-name.ts';
import { toKubeError } from './errors.ts';
import { mergePatch, type KubeApi } from './kube-api.ts';

export interface DefinitionWriter {
  /** Answers the definition as the apiserver wrote it, or undefined when it is gone. */
  patchStatus(namespace: string, name: string, status: SecretDefinitionStatus): Promise<unknown>;
  /** Sets the finalizer list, failing if the object changed since `resourceVersion`. */
  setFinalizers(
    namespace: string,
    name: string,
    finalizers: readonly string[],
    resourceVersion: string,
  ): Promise<void>;
}

/** `api`: the work's client, whose requests are aborted when the leadership term ends. */
export function kubeDefinitionWriter(api: KubeApi): DefinitionWriter {
  const target = (namespace: string, name: string) => ({
    group,
    version,
    plural,
    namespace: apiName(namespace),
    name: apiName(name),
  });
  return {
    async patchStatus(namespace, name, status) {
      try {
        const answered: unknown = await api.customObjects.patchNamespacedCustomObjectStatus(
          { ...target(namespace, name), body: { status } },
          mergePatch,
        );
        return answered;
      } catch (error) {
        const failure = toKubeError(error, `updating the status of SecretDefinition ${namespace}/${name}`);
        // Deleted meanwhile: nothing left to report on.
        if (failure.status !== 404) throw failure;
        return undefined;
      }
    },
    async setFinalizers(namespace, name, finalizers, resourceVersion) {
      try {
        await api.customObjects.patchNamespacedCustomObject(
          { ...target(namespace, name), body: { metadata: { finalizers, resourceVersion } } },
          mergePatch,
        );
      } catch (error) {
        const failure = toKubeError(error, `removing the finalizer of SecretDefinition ${namespace}/${name}`);
        if (failure.status !== 404) throw failure;
      }
    },
  };
}
