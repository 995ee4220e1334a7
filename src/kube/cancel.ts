// Cancelling Kubernetes requests. The generated client takes no AbortSignal; a per-call middleware
// puts one on the request, and the client's fetch honours it for the whole exchange, body included.

import { Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';

/** The signal the current work runs under, read at each request: aborted when it must stop. */
export type SignalSource = () => AbortSignal | undefined;

/** Call options that abort the request when the signal does (an aborted signal fails it at once). */
export function cancellable(signal: SignalSource): ConfigurationOptions<ObservableMiddleware> {
  return {
    middleware: [
      {
        pre: (request) => {
          const current = signal();
          if (current) request.setSignal(current);
          return new Observable(Promise.resolve(request));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
