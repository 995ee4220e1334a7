// This process among the operator's replicas: its Lease holder identity, and the User-Agent of its
// Kubernetes requests, so the apiserver's audit log says which replica wrote what.

import { hostname } from 'node:os';

/** The pod's name (the hostname) and the process id, as client-go's leader election names a holder. */
export function instanceIdentity(): string {
  return `${hostname()}_${process.pid}`;
}

/** The User-Agent of every Kubernetes request this process sends. */
export function kubeUserAgent(identity: string): string {
  return `secrets-manager (${identity})`;
}
