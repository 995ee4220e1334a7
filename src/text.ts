// Reading strings out of objects that came from outside and are not yet trusted.

/** `value` if it is a string, else `fallback`. */
export function stringOr(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

/** The string-valued entries of `value`, when it is an object (labels, annotations, Secret data). */
export function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}
