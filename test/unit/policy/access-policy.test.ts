import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allowAll,
  kvSpellings,
  logicalGlob,
  parseAccessPolicy,
  pathGlobMatches,
} from '../../../src/policy/access-policy.ts';

/** A secret on the KV v2 mount secret/ or the KV v1 mount kv/. */
const v2 = (path: string) => ({ path, mount: 'secret/', version: 2 as const });
const v1 = (path: string) => ({ path, mount: 'kv/', version: 1 as const });

function policy(text: string) {
  const parsed = parseAccessPolicy(text);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.policy;
}

function problems(text: string): readonly string[] {
  const parsed = parseAccessPolicy(text);
  assert.equal(parsed.ok, false, 'expected the policy to be refused');
  return parsed.ok ? [] : parsed.problems;
}

describe('path globs, as in Vault ACL policies', () => {
  const cases: [glob: string, path: string, matches: boolean][] = [
    ['secret/data/team-a/*', 'secret/data/team-a/db', true],
    ['secret/data/team-a/*', 'secret/data/team-a/x/y', true],
    ['secret/data/team-a/*', 'secret/data/team-a', false],
    ['secret/data/team-a/*', 'secret/data/team-ab/db', false],
    ['secret/data/team-a*', 'secret/data/team-ab/db', true],
    ['secret/+/config', 'secret/team-a/config', true],
    ['secret/+/config', 'secret/team-a/x/config', false],
    ['secret/+/config', 'secret//config', false],
    ['secret/app', 'secret/app', true],
    ['secret/app', 'secret/app/x', false],
    ['*', 'anything/at/all', true],
  ];
  for (const [glob, path, matches] of cases) {
    test(`${glob} ${matches ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(pathGlobMatches(glob, path), matches);
    });
  }
});

describe('the access policy', () => {
  const perTeam = policy(`
- namespaces: ["team-*"]
  paths: ["secret/data/{namespace}/*"]
- namespaces: [payments]
  paths: ["kv/payments/*", "secret/shared/+/config"]
`);

  test('one rule per team: each namespace reads below its own name', () => {
    assert.equal(perTeam.allows('team-a', v2('secret/team-a/db')), true);
    assert.equal(perTeam.allows('team-a', v2('secret/team-b/db')), false);
    assert.equal(perTeam.allows('team-b', v2('secret/team-b/db')), true);
  });

  test('a namespace no rule names reads nothing', () => {
    assert.equal(perTeam.allows('other', v1('kv/payments/x')), false);
    assert.equal(perTeam.allows('payments', v1('kv/payments/x')), true);
    assert.equal(perTeam.allows('payments', v2('secret/shared/a/config')), true);
    assert.equal(perTeam.allows('payments', v2('secret/config')), false, '+ is one segment, never none');
  });

  test("a KV v2 glob's data/ is dropped once the mount is known, so a rule never means more than it says", () => {
    // A namespace called "data" is given secret/data/data/*: secrets named data/..., not the mount.
    const everyTeam = policy('- { namespaces: ["*"], paths: ["secret/data/{namespace}/*"] }');
    assert.equal(
      everyTeam.allows('data', v2('secret/data/team-b/db')),
      true,
      'its own: the secret data/team-b/db',
    );
    assert.equal(everyTeam.allows('data', v2('secret/team-b/db')), false, "team-b's secret");
    const withoutData = policy('- { namespaces: ["*"], paths: ["secret/{namespace}/*"] }');
    assert.equal(withoutData.allows('team-a', v2('secret/team-a/db')), true);
    assert.equal(withoutData.allows('data', v2('secret/team-b/db')), false);
    assert.equal(withoutData.allows('data', v2('secret/data/x')), true, 'its own folder data/');
    assert.equal(
      logicalGlob('secret/{namespace}/*', { mount: 'secret/', version: 2 }, 'data'),
      'secret/data/*',
    );
    assert.equal(logicalGlob('{namespace}/data/*', { mount: 'team-a/', version: 2 }, 'team-a'), 'team-a/*');
    assert.equal(
      logicalGlob('secret/data/team-a/*', { mount: 'secret/', version: 2 }, 'ns'),
      'secret/team-a/*',
    );
    assert.equal(logicalGlob('+/data/team-a/*', { mount: 'secret/', version: 2 }, 'ns'), '+/team-a/*');
    assert.equal(logicalGlob('kv/data/x', { mount: 'kv/', version: 1 }, 'ns'), 'kv/data/x');
    assert.equal(logicalGlob('team/kv/data/x/*', { mount: 'team/kv/', version: 2 }, 'ns'), 'team/kv/x/*');
  });

  test('before Vault is asked, a path is refused only when no spelling could match', () => {
    assert.equal(perTeam.mayAllow('team-a', 'secret/team-a/db'), true);
    assert.equal(perTeam.mayAllow('team-a', 'secret/data/team-a/db'), true);
    assert.equal(perTeam.mayAllow('team-a', 'secret/team-b/db'), false);
    assert.equal(perTeam.mayAllow('team-a', 'kv/team-a/db'), false);
  });

  test('the KV spellings of a path add or drop data/ after every possible mount', () => {
    assert.deepEqual(kvSpellings('a/b/c').sort(), ['a/b/c', 'a/b/data/c', 'a/data/b/c'].sort());
    assert.deepEqual(kvSpellings('a/data/c').sort(), ['a/c', 'a/data/c', 'a/data/data/c'].sort());
  });

  test('without a file everything is allowed', () => {
    assert.equal(allowAll.allows('any', v1('kv/anything')), true);
  });

  test('an empty list allows nothing', () => {
    assert.equal(policy('[]').allows('team-a', v2('secret/team-a/db')), false);
  });
});

describe('a broken policy names every problem', () => {
  test('not a list', () => {
    assert.match(problems('namespaces: [a]')[0] ?? '', /must be a YAML list of rules/);
    assert.match(problems('')[0] ?? '', /must be a YAML list of rules/);
  });

  test('a misspelt or missing field, and a rule that is no mapping', () => {
    assert.deepEqual(problems('- { namespace: [a], paths: [secret/a] }\n- x'), [
      'rule 1: unknown field "namespace" (a rule has namespaces and paths)',
      'rule 1.namespaces: must be a non-empty list of strings',
      'rule 2: must be a mapping with namespaces and paths',
    ]);
  });

  test('globs that cannot mean what they say', () => {
    assert.deepEqual(
      problems(
        '- { namespaces: ["Team_A"], paths: ["secret/*/db", "secret/../sys/*", "secret/{ns}/a", "secret/data/{namespace}*"] }',
      ),
      [
        'rule 1.namespaces: "Team_A" is not a namespace name or glob (lowercase letters, digits, "-" and "*")',
        'rule 1.paths: "secret/*/db" has a "*" before its end: as in Vault policies, "*" may only end a glob; use "+" for one segment',
        'rule 1.paths: "secret/../sys/*" has a "." or ".." segment',
        'rule 1.paths: "secret/{ns}/a" has a "{" or "}" that is not {namespace}',
        'rule 1.paths: "secret/data/{namespace}*" has "{namespace}*", which also matches every namespace whose name starts with this one; write {namespace}/*',
      ],
    );
  });

  test('YAML that defeats parsers: duplicate keys and alias bombs', () => {
    assert.match(
      problems('- namespaces: [a]\n  namespaces: [b]\n  paths: [x/y]')[0] ?? '',
      /not valid YAML: .*unique/i,
    );
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (const [name, previous] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
    ]) {
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(',')}]`);
    }
    assert.match(problems(bomb.join('\n'))[0] ?? '', /not valid YAML: Excessive alias count/);
  });
});

describe('Azure Key Vault: flat names', () => {
  const azure = (path: string) => ({ path, mount: '', version: 1 as const });
  const flat = (text: string) => parseAccessPolicy(text, { flatNames: true });

  test('"{namespace}-*" is refused: for namespace team it would also match the secrets of team-a', () => {
    const parsed = flat("- { namespaces: ['*'], paths: ['{namespace}-*'] }");
    assert.equal(parsed.ok, false);
    assert.match(
      parsed.ok ? '' : (parsed.problems[0] ?? ''),
      /mixes \{namespace\} with "\*": Key Vault names are flat/,
    );
    assert.ok(
      parseAccessPolicy("- { namespaces: ['*'], paths: ['{namespace}-*'] }").ok,
      'fine for Vault paths',
    );
  });

  test('exact names per namespace, and shared globs an administrator writes, are allowed and matched whole', () => {
    const parsed = flat(
      "- { namespaces: ['*'], paths: ['{namespace}-db'] }\n- { namespaces: [payments-*], paths: ['shared-*'] }",
    );
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const rules = parsed.policy;
    assert.equal(rules.allows('team', azure('team-db')), true);
    assert.equal(rules.allows('team', azure('team-a-db')), false, "not namespace team-a's");
    assert.equal(rules.allows('payments-eu', azure('shared-config')), true);
    assert.equal(rules.allows('team', azure('shared-config')), false);
  });
});
