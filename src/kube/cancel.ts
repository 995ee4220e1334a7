// Cancelling Kubernetes requests: every request of the operator's work carries the signal of the
// leadership term, read by the HTTP library when the request starts, so a replica that lost the
// Lease stops at once.

/** The signal the current work runs under, read at each request: aborted when it must stop. */
export type SignalSource = () => AbortSignal | undefined;

/** `pending`, or its signal's reason as soon as that aborts, even if `pending` never settles. */
export function abandonOnAbort<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abandon = (): void => reject(signal.reason as Error);
    if (signal.aborted) return abandon();
    signal.addEventListener('abort', abandon, { once: true });
    void pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', abandon));
  });
}
