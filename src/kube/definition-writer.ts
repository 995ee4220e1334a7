// Writes to SecretDefinitions: their status subresource, and the removal of the original
// operator's finalizer.

import { group, plural, version, type SecretDefinitionStatus } from '../api/types.ts';
import { withSignal, type SignalSource } from './cancel.ts';
import { contentTypes, segment, type KubeClient } from './client.ts';
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
  client: KubeClient,
  signal: SignalSource = () => undefined,
): DefinitionWriter {
  const mergePatch = (path: string, body: unknown): Promise<unknown> =>
    client.request({
      method: 'PATCH',
      path,
      body,
      contentType: contentTypes.mergePatch,
      ...withSignal(signal),
    });
  const pathOf = (namespace: string, name: string): string =>
    `/apis/${group}/${version}/namespaces/${segment(namespace)}/${plural}/${segment(name)}`;
  return {
    async patchStatus(namespace, name, status) {
      try {
        await mergePatch(`${pathOf(namespace, name)}/status`, { status });
      } catch (error) {
        const failure = toKubeError(error, `updating the status of SecretDefinition ${namespace}/${name}`);
        // Deleted meanwhile: nothing left to report on.
        if (failure.status !== 404) throw failure;
      }
    },
    async setFinalizers(namespace, name, finalizers, resourceVersion) {
      try {
        await mergePatch(pathOf(namespace, name), { metadata: { finalizers, resourceVersion } });
      } catch (error) {
        const failure = toKubeError(error, `removing the finalizer of SecretDefinition ${namespace}/${name}`);
        if (failure.status !== 404) throw failure;
      }
    },
  };
}
