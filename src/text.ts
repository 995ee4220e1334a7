// Reading strings out of objects that came from outside and are not yet trusted.

/** `value` if it is a string, else `fallback`. */
export function stringOr(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}
