// What Vault says went wrong, from an error answer's body, as one short line safe to show.

/** The `errors` array of a Vault error body, as plain strings. */
export function vaultErrorMessages(body: unknown): string {
  const errors = (body as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return '';
  return errors
    .filter((e): e is string => typeof e === 'string')
    .map((e) => e.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('; ')
    .slice(0, 500);
}
