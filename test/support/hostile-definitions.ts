// Hostile SecretDefinitions: specs an attacker with create rights on SecretDefinitions, or a user
// making a mistake, could write. Each one is run through kube-apiserver's schema (integration),
// `validate` and the reconciler (unit); each must give exactly one clear problem and cause nothing
// else: no Vault request, no Secret write.

export interface HostileDefinition {
  /** What the spec tries. */
  readonly title: string;
  readonly spec: Readonly<Record<string, unknown>>;
  /** The one problem `validate` names, with its field. */
  readonly problem: RegExp;
  /** The words kube-apiserver's refusal must contain (the field it names). */
  readonly apiserver: string;
  /** kube-apiserver's schema cannot express the rule; only `validate` and the operator refuse it. */
  readonly apiserverAccepts?: boolean;
}

const key = (path: string) => ({ name: 'app', keysMap: { v: { path, key: 'v' } } });
const pathProblem = (what: string) =>
  new RegExp(`^spec\\.keysMap\\.v\\.path: ${what}: a Vault path names one KV secret`);
const token = 'auth/token/lookup-self';

function manyKeys(count: number): Record<string, unknown> {
  const keysMap: Record<string, unknown> = {};
  for (let i = 0; i < count; i += 1) keysMap[`k${i}`] = { path: 'secret/app', key: 'v' };
  return keysMap;
}

export const hostileDefinitions: readonly HostileDefinition[] = [
  // Paths that an HTTP client or Vault could turn into another endpoint.
  {
    title: 'percent-encoded dot segment',
    spec: key(`kv/%2e%2e/${token}`),
    problem: pathProblem('contains "%"'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'upper-case percent-encoded dot segment',
    spec: key(`kv/%2E%2E/${token}`),
    problem: pathProblem('contains "%"'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'half-encoded dot segment .%2e',
    spec: key(`kv/.%2e/${token}`),
    problem: pathProblem('contains "%"'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'half-encoded dot segment %2e.',
    spec: key(`kv/%2e./${token}`),
    problem: pathProblem('contains "%"'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'encoded slash',
    spec: key('kv/a%2f..%2fsys'),
    problem: pathProblem('contains "%"'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'backslash before a traversal',
    spec: key(`kv/..\\${token}`),
    problem: pathProblem('contains a backslash'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'literal dot-dot segment',
    spec: key(`kv/../${token}`),
    problem: pathProblem('has a "." or ".." segment'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'literal dot segment',
    spec: key('kv/./app'),
    problem: pathProblem('has a "." or ".." segment'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'trailing dot-dot segment',
    spec: key('kv/app/..'),
    problem: pathProblem('has a "." or ".." segment'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'leading slash',
    spec: key('/secret/app'),
    problem: pathProblem('has an empty segment \\(a leading, trailing or doubled "/"\\)'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'trailing slash (a list, not a secret)',
    spec: key('secret/app/'),
    problem: pathProblem('has an empty segment \\(a leading, trailing or doubled "/"\\)'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'doubled slash',
    spec: key('secret//app'),
    problem: pathProblem('has an empty segment \\(a leading, trailing or doubled "/"\\)'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'a mount with no secret name',
    spec: key('secret'),
    problem: pathProblem('needs a mount and a secret name'),
    apiserver: 'spec.keysMap.v.path',
    // One segment is an Azure Key Vault secret name: the CRD admits it, the operator refuses it for Vault.
    apiserverAccepts: true,
  },
  {
    title: 'query string',
    spec: key('secret/app?version=1'),
    problem: pathProblem('contains "\\?"'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'fragment',
    spec: key('secret/app#x'),
    problem: pathProblem('contains "#"'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'NUL byte',
    spec: key('secret/app\u0000'),
    problem: pathProblem('contains the invisible or control character U\\+0000'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'newline (header or log injection)',
    spec: key('secret/app\nX-Vault-Token: x'),
    problem: pathProblem('contains the invisible or control character U\\+000A'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'carriage return',
    spec: key('secret/app\r'),
    problem: pathProblem('contains the invisible or control character U\\+000D'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'tab',
    spec: key('secret/a\tb'),
    problem: pathProblem('contains the invisible or control character U\\+0009'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'DEL',
    spec: key('secret/a\u007f'),
    problem: pathProblem('contains the invisible or control character U\\+007F'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'C1 control (NEL)',
    spec: key('secret/a\u0085'),
    problem: pathProblem('contains the invisible or control character U\\+0085'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'zero-width space (a look-alike path)',
    spec: key('secret/a\u200bpp'),
    problem: pathProblem('contains the invisible or control character U\\+200B'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'right-to-left override (a path that reads otherwise)',
    spec: key('secret/\u202eppa'),
    problem: pathProblem('contains the invisible or control character U\\+202E'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'byte order mark',
    spec: key('secret/\ufeffapp'),
    problem: pathProblem('contains the invisible or control character U\\+FEFF'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'line separator',
    spec: key('secret/a\u2028b'),
    problem: pathProblem('contains the invisible or control character U\\+2028'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'paragraph separator',
    spec: key('secret/a\u2029b'),
    problem: pathProblem('contains the invisible or control character U\\+2029'),
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'traversal in dataFrom',
    spec: { name: 'app', dataFrom: [{ path: `sys/../${token}` }] },
    problem: /^spec\.dataFrom\[0\]\.path: has a "\." or "\.\." segment: a Vault path names one KV secret/,
    apiserver: 'spec.dataFrom[0].path',
  },
  {
    title: 'a path longer than 1024 characters',
    spec: key(`secret/${'a'.repeat(1020)}`),
    problem: /^spec\.keysMap\.v\.path: must be at most 1024 characters/,
    apiserver: 'spec.keysMap.v.path',
  },
  {
    title: 'a path that is a number',
    spec: key(42 as unknown as string),
    problem: /^spec\.keysMap\.v\.path: must be string/,
    apiserver: 'spec.keysMap.v.path',
  },
  // Keys.
  {
    title: 'a Secret data key with a space',
    spec: { name: 'app', keysMap: { 'bad key': { path: 'secret/app', key: 'v' } } },
    problem: /^spec\.keysMap\.bad key: is not a valid Secret data key/,
    apiserver: 'every keysMap key must be a valid Secret data key',
  },
  {
    title: 'a Secret data key that is a path',
    spec: { name: 'app', keysMap: { '../etc/passwd': { path: 'secret/app', key: 'v' } } },
    problem: /^spec\.keysMap\.\.\.\/etc\/passwd: is not a valid Secret data key/,
    apiserver: 'every keysMap key must be a valid Secret data key',
  },
  {
    title: 'a Secret data key with a homoglyph',
    spec: { name: 'app', keysMap: { pаssword: { path: 'secret/app', key: 'v' } } },
    problem: /^spec\.keysMap\.pаssword: is not a valid Secret data key/,
    apiserver: 'every keysMap key must be a valid Secret data key',
  },
  {
    title: 'a Secret data key of 254 characters',
    spec: { name: 'app', keysMap: { ['k'.repeat(254)]: { path: 'secret/app', key: 'v' } } },
    problem: /is not a valid Secret data key/,
    apiserver: 'every keysMap key must be a valid Secret data key',
  },
  {
    title: 'an empty Vault key',
    spec: { name: 'app', keysMap: { v: { path: 'secret/app', key: '' } } },
    problem: /^spec\.keysMap\.v\.key: must not be empty/,
    apiserver: 'spec.keysMap.v.key',
  },
  {
    title: 'a Vault key of 1025 characters',
    spec: { name: 'app', keysMap: { v: { path: 'secret/app', key: 'k'.repeat(1025) } } },
    problem: /^spec\.keysMap\.v\.key: must be at most 1024 characters/,
    apiserver: 'spec.keysMap.v.key',
  },
  {
    title: 'an unknown encoding',
    spec: { name: 'app', keysMap: { v: { path: 'secret/app', key: 'v', encoding: 'hex' } } },
    problem: /^spec\.keysMap\.v\.encoding: must be one of text, base64/,
    apiserver: 'spec.keysMap.v.encoding',
  },
  {
    title: 'version 0',
    spec: { name: 'app', keysMap: { v: { path: 'secret/app', key: 'v', version: 0 } } },
    problem:
      /^spec\.keysMap\.v\.version: must be a KV v2 version number from 1 \(Vault\) or the 32-character id/,
    apiserver: 'spec.keysMap[v].version',
  },
  {
    title: 'a fractional version',
    spec: { name: 'app', keysMap: { v: { path: 'secret/app', key: 'v', version: 1.5 } } },
    problem:
      /^spec\.keysMap\.v\.version: must be a KV v2 version number from 1 \(Vault\) or the 32-character id/,
    apiserver: 'spec.keysMap.v.version',
  },
  {
    title: 'a version as text',
    spec: { name: 'app', keysMap: { v: { path: 'secret/app', key: 'v', version: '2' } } },
    problem:
      /^spec\.keysMap\.v\.version: must be a KV v2 version number from 1 \(Vault\) or the 32-character id/,
    apiserver: 'spec.keysMap[v].version',
  },
  {
    title: 'a keysMap entry that is a string',
    spec: { name: 'app', keysMap: { v: 'secret/app' } },
    problem: /^spec\.keysMap\.v: must be object/,
    apiserver: 'spec.keysMap.v',
  },
  // Names and types.
  {
    title: 'a Secret name with upper case and "_"',
    spec: { ...key('secret/app'), name: 'Bad_Name' },
    problem: /^spec\.name: must be a lowercase RFC 1123 subdomain name/,
    apiserver: 'spec.name',
  },
  {
    title: 'a Secret name that is a path',
    spec: { ...key('secret/app'), name: '../kube-system/x' },
    problem: /^spec\.name: must be a lowercase RFC 1123 subdomain name/,
    apiserver: 'spec.name',
  },
  {
    title: 'a Secret name with a Cyrillic look-alike',
    spec: { ...key('secret/app'), name: 'аpp' },
    problem: /^spec\.name: must be a lowercase RFC 1123 subdomain name/,
    apiserver: 'spec.name',
  },
  {
    title: 'a Secret name of 254 characters',
    spec: { ...key('secret/app'), name: 'a'.repeat(254) },
    problem: /^spec\.name: must be at most 253 characters/,
    apiserver: 'spec.name',
  },
  {
    title: 'no Secret name',
    spec: { keysMap: { v: { path: 'secret/app', key: 'v' } } },
    problem: /^spec\.name: is required/,
    apiserver: 'spec.name',
  },
  {
    title: 'a Secret type with a path',
    spec: { ...key('secret/app'), type: 'a/b/c' },
    problem: /^spec\.type: must be a Secret type/,
    apiserver: 'spec.type',
  },
  // Timing.
  {
    title: 'a refresh interval that floods Vault',
    spec: { ...key('secret/app'), refreshInterval: '1ms' },
    problem: /^spec\.refreshInterval: must be at least 1s/,
    apiserver: '',
    apiserverAccepts: true,
  },
  {
    title: 'a negative refresh interval',
    spec: { ...key('secret/app'), refreshInterval: '-1s' },
    problem: /^spec\.refreshInterval: must be a duration/,
    apiserver: 'spec.refreshInterval',
  },
  {
    title: 'an unknown deletion policy',
    spec: { ...key('secret/app'), deletionPolicy: 'Orphan' },
    problem: /^spec\.deletionPolicy: must be one of Delete, Retain/,
    apiserver: 'spec.deletionPolicy',
  },
  // Sizes and shapes.
  {
    title: 'a keysMap of 10,000 entries',
    spec: { name: 'app', keysMap: manyKeys(10_000) },
    problem: /^spec\.keysMap: must NOT have more than 1000 properties/,
    apiserver: 'spec.keysMap',
  },
  {
    title: 'a dataFrom of 101 paths',
    spec: { name: 'app', dataFrom: Array.from({ length: 101 }, (_, i) => ({ path: `secret/p${i}` })) },
    problem: /^spec\.dataFrom: must NOT have more than 100 items/,
    apiserver: 'spec.dataFrom',
  },
  {
    title: 'nothing to copy',
    spec: { name: 'app', keysMap: {} },
    problem: /^spec: needs at least one entry in keysMap or dataFrom/,
    apiserver: 'spec needs at least one entry in keysMap or dataFrom',
  },
  {
    title: 'a keysMap that is a list',
    spec: { name: 'app', keysMap: [{ path: 'secret/app', key: 'v' }] },
    problem: /^spec\.keysMap: must be object/,
    apiserver: 'spec.keysMap',
  },
];

/** Names that look odd but are harmless once encoded, and that Vault and the original accept. */
export const harmlessPaths: readonly string[] = [
  'secret/app/with space',
  'secret/.hidden/a..b',
  'secret/café/ключ',
  'secret/\uff0e\uff0e/fullwidth-dots',
  "kv/a:b@c=d+e,f;g!h$i&j(k)l*m'n~",
];
