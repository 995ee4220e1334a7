// A name or namespace as @kubernetes/client-node puts it in a request path. The library encodes
// each one, but "..", "." and "" survive encoding and the URL parser then moves the path: a
// Secret named ".." made deleteNamespacedSecret send DELETE to the namespace itself. Every call
// passes its names through here first.

/** `value`, when it can be one segment of an API path; throws before anything is sent otherwise. */
export function apiName(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new Error(`"${value}" cannot be a name in a Kubernetes API path`);
  }
  return value;
}
