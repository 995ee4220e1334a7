// Writes to SecretDefinitions: their status subresource, and the removal of the original
// operator's finalizer.

import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { group, plural, version, type SecretDefinitionStatus } from '../api/types.ts';
import { cancellable, type SignalSource } from './cancel.ts';
import { toKubeError } from './errors.ts';

export interface DefinitionWriter {
  patchStatus(namespace: string, name: string, status: SecretDefinitionStatus): Promise<void>;
  /** Sets the finalizer list, failing if the object changed since `resourceVersion`. */
  setFinalizers(
    namespace: string,
    name: string,
    finalizers: readonly string[],
    resourceVersion: string,
  ): Promise<void>;
}

/** `signal`: the work's signal; every request is aborted when it aborts (lost leadership). */
export function kubeDefinitionWriter(
  config: KubeConfig,
  signal: SignalSource = () => undefined,
): DefinitionWriter {
  const api = config.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch, cancellable(signal));
  return {
    async patchStatus(namespace, name, status) {
      try {
        await api.patchNamespacedCustomObjectStatus(
          { group, version, plural, namespace, name, body: { status } },
          mergePatch,
        );
      } catch (error) {
        const failure = toKubeError(error, `updating the status of SecretDefinition ${namespace}/${name}`);
        // Deleted meanwhile: nothing left to report on.
        if (failure.status !== 404) throw failure;
      }
    },
    async setFinalizers(namespace, name, finalizers, resourceVersion) {
      try {
        await api.patchNamespacedCustomObject(
          { group, version, plural, namespace, name, body: { metadata: { finalizers, resourceVersion } } },
          mergePatch,
        );
      } catch (error) {
        const failure = toKubeError(error, `removing the finalizer of SecretDefinition ${namespace}/${name}`);
        if (failure.status !== 404) throw failure;
      }
    },
  };
}
