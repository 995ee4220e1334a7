// Kubernetes Events about SecretDefinitions. Recording is best effort: a lost Event never fails a
// reconcile.

import { randomBytes } from 'node:crypto';
import { apiVersion, kind } from '../api/types.ts';
import { apiName } from './api-name.ts';
import type { KubeApi } from './kube-api.ts';

export interface EventTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The object's kind and API version; a SecretDefinition when absent. */
  readonly kind?: string;
  readonly apiVersion?: string;
}

export interface EventRecorder {
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

/** `api`: the work's client, whose requests are aborted when the leadership term ends. */
export function kubeEventRecorder(
  api: KubeApi,
  component: string,
  onError: (error: unknown) => void,
): EventRecorder {
  return {
    async record(target, type, reason, message) {
      const now = new Date();
      try {
        await api.core.createNamespacedEvent({
          namespace: apiName(target.namespace),
          body: {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: {
              name: `${target.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`,
              namespace: target.namespace,
            },
            involvedObject: {
              apiVersion: target.apiVersion ?? apiVersion,
              kind: target.kind ?? kind,
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
        });
      } catch (error) {
        onError(error);
      }
    },
  };
}
