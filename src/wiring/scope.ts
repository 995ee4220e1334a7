// Which namespaces the operator's caches watch: --watch-namespaces less --exclude-namespaces, one
// cache per namespace, or one for all when none is named (the excluded ones dropped as they come).

export interface WatchScope {
  /** One entry per cache: a namespace, or undefined for all namespaces. */
  readonly namespaces: readonly (string | undefined)[];
  /** Whether objects of `namespace` belong in the caches. */
  readonly inScope: (namespace: string) => boolean;
}

export function watchScope(
  watchNamespaces: readonly string[],
  excludeNamespaces: readonly string[],
): WatchScope {
  const excluded = new Set(excludeNamespaces);
  const inScope = (namespace: string): boolean => !excluded.has(namespace);
  return { namespaces: watchNamespaces.length ? watchNamespaces.filter(inScope) : [undefined], inScope };
}
