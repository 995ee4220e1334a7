// Kubernetes Events about SecretDefinitions. Recording is best effort: a lost Event never fails a
// reconcile.

import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { apiVersion, kind } from '../api/types.ts';
import { cancellable, type SignalSource } from './cancel.ts';

export interface EventTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface EventRecorder {
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export function kubeEventRecorder(
  config: KubeConfig,
  component: string,
  onError: (error: unknown) => void,
  signal: SignalSource = () => undefined,
): EventRecorder {
  const api = config.makeApiClient(CoreV1Api);
  const options = cancellable(signal);
  return {
    async record(target, type, reason, message) {
      const now = new Date();
      try {
        await api.createNamespacedEvent(
          {
            namespace: target.namespace,
            body: {
              metadata: {
                name: `${target.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`,
                namespace: target.namespace,
              },
              involvedObject: {
                apiVersion,
                kind,
                name: target.name,
                namespace: target.namespace,
                uid: target.uid,
              },
              type,
              reason,
              message: message.slice(0, 1024),
              source: { component },
              reportingComponent: component,
              firstTimestamp: now,
              lastTimestamp: now,
              count: 1,
            },
          },
          options,
        );
      } catch (error) {
        onError(error);
      }
    },
  };
}
