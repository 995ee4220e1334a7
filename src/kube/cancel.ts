// Cancelling Kubernetes requests: every request of the operator's work carries the signal of the
// leadership term, read by the HTTP library when the request starts, so a replica that lost the
// Lease stops at once.

/** The signal the current work runs under, read at each request: aborted when it must stop. */
export type SignalSource = () => AbortSignal | undefined;
