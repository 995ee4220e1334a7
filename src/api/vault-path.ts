// What a Vault path in a SecretDefinition may be: the name of a KV secret, `<mount>/<name>`, and
// nothing that an HTTP client or Vault could turn into another endpoint. The same rule is written
// three times and tested against one table: as a regular expression in the CRD (kube-apiserver,
// Go RE2), here for `validate` and the operator (JavaScript), and segment by segment in the Vault
// transport, which refuses to send a request whose path is not exactly what it built.

/**
 * Characters no path segment may hold: the separator, percent (no pre-encoded input: every
 * segment is encoded exactly once, by us), query and fragment marks, backslash (WHATWG URL
 * parsers read it as "/"), and invisible or control characters (C0, DEL, C1, format characters
 * such as zero-width and bidi overrides, line and paragraph separators, lone surrogates).
 */
const forbidden = String.raw`/%?#\\\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}`;
const anyChar = `[^${forbidden}]`;
const notDot = `[^.${forbidden}]`;
/** A segment that is neither "." nor "..": RE2 has no look-ahead, so the two are spelt out. */
const segment = String.raw`(?:${notDot}${anyChar}*|\.${notDot}${anyChar}*|\.\.${anyChar}+)`;

/**
 * The CRD's `pattern` for a path: one or more segments, none empty, none a dot segment. One
 * segment is an Azure Key Vault secret name; Vault needs two (mount and name), checked here.
 */
export const pathPattern = `^${segment}(?:/${segment})*$`;

export const maxVaultPathLength = 1024;

const segmentExpression = new RegExp(`^${segment}$`, 'u');
const forbiddenChar = new RegExp(`[${forbidden}]`, 'u');

function describeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  const named: Record<string, string> = { '%': '"%"', '?': '"?"', '#': '"#"', '\\': 'a backslash' };
  return (
    named[char] ?? `the invisible or control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`
  );
}

/** Why `segment` cannot be one segment of a Vault path, or undefined when it can. */
export function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'has an empty segment (a leading, trailing or doubled "/")';
  if (segment === '.' || segment === '..') return 'has a "." or ".." segment';
  const bad = forbiddenChar.exec(segment)?.[0];
  if (bad !== undefined) return `contains ${describeChar(bad)}`;
  // Unreachable while the rules above mirror the expression; kept so the two cannot drift apart.
  if (!segmentExpression.test(segment)) return 'has a malformed segment';
  return undefined;
}

/**
 * Why `path` is not a safe Vault path, or undefined when it is: the words complete
 * "the path ..." and name what to fix.
 */
export function vaultPathProblem(path: string): string | undefined {
  if (path.length > maxVaultPathLength) return `is longer than ${maxVaultPathLength} characters`;
  const segments = path.split('/');
  if (segments.length < 2) return 'needs a mount and a secret name';
  for (const part of segments) {
    const problem = segmentProblem(part);
    if (problem) return problem;
  }
  return undefined;
}
