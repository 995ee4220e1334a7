// Cancelling Kubernetes requests: every request of the operator's work carries the signal of the
// leadership term, read when the request starts, so a replica that lost the Lease stops at once.

/** The signal the current work runs under, read at each request: aborted when it must stop. */
export type SignalSource = () => AbortSignal | undefined;

/** The request option for the current work's signal, if there is one. */
export function withSignal(signal: SignalSource): { signal?: AbortSignal } {
  const current = signal();
  return current ? { signal: current } : {};
}
