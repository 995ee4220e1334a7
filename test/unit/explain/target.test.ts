import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTarget, pickDocument, UsageError } from '../../../src/explain/target.ts';

const doc = (name: string, namespace?: string): string =>
  `apiVersion: secrets-manager.tuenti.io/v1alpha1\nkind: SecretDefinition\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}spec: {name: x, keysMap: {a: {path: secret/a, key: a}}}\n`;

describe('which definition explain is asked about', () => {
  test('NAMESPACE/NAME names one in the cluster', () => {
    assert.deepEqual(parseTarget('team-a/app-db', undefined), {
      kind: 'cluster',
      namespace: 'team-a',
      name: 'app-db',
    });
  });

  test('a name without a namespace, a bad name, or nothing at all is a usage error saying what to write', () => {
    assert.throws(
      () => parseTarget('app-db', undefined),
      (e: unknown) =>
        e instanceof UsageError && /write NAMESPACE\/NAME, for example team-a\/app-db/.test(e.message),
    );
    assert.throws(() => parseTarget('Team_A/app', undefined), /"Team_A" is not a namespace name/);
    assert.throws(() => parseTarget('a/b/c', undefined), /is not NAMESPACE\/NAME/);
    assert.throws(() => parseTarget(undefined, undefined), /explain NAMESPACE\/NAME .* or explain -f FILE/);
  });

  test('-f takes the one definition of a file; with several, the name given picks one, and none given is a usage error listing them', () => {
    assert.equal(pickDocument(doc('one'), 'f.yaml').name, 'one');
    const two = `${doc('one', 'a')}---\nkind: ConfigMap\n---\n${doc('two', 'b')}`;
    assert.throws(
      () => pickDocument(two, 'f.yaml'),
      /f\.yaml holds 2 SecretDefinitions \(a\/one, b\/two\): say which, as in explain -f f\.yaml one/,
    );
    const target = parseTarget('two', 'f.yaml');
    assert.equal(target.kind === 'file' ? pickDocument(two, 'f.yaml', target.pick).namespace : '', 'b');
    assert.throws(
      () => pickDocument(two, 'f.yaml', { name: 'three' }),
      /has no SecretDefinition three; it has a\/one, b\/two/,
    );
  });

  test('a file with no definition, or YAML that does not parse, is a usage error', () => {
    assert.throws(() => pickDocument('kind: ConfigMap\n', 'f.yaml'), /f\.yaml holds no SecretDefinition/);
    assert.throws(() => pickDocument('a: [\n', 'f.yaml'), /f\.yaml \(document 1\): not valid YAML/);
  });

  test('a document without metadata.name, or with a name or namespace the apiserver refuses, is a usage error saying what to fix', () => {
    const nameless =
      'apiVersion: secrets-manager.tuenti.io/v1alpha1\nkind: SecretDefinition\nmetadata: {namespace: a}\nspec: {name: x}\n';
    assert.throws(
      () => pickDocument(nameless, 'f.yaml'),
      (e: unknown) =>
        e instanceof UsageError &&
        /the SecretDefinition in f\.yaml has no metadata\.name: give the SecretDefinition a name/.test(
          e.message,
        ),
    );
    assert.throws(() => pickDocument(doc('App_DB'), 'f.yaml'), /"App_DB" is not a SecretDefinition name/);
    assert.throws(
      () => pickDocument(doc('app', '../secrets'), 'f.yaml'),
      /"\.\.\/secrets" is not a namespace name: .* \(metadata\.namespace in f\.yaml\)/,
    );
    // A nameless document beside the one picked does not matter.
    assert.equal(pickDocument(`${doc('one')}---\n${nameless}`, 'f.yaml', { name: 'one' }).name, 'one');
  });

  test('-n that names another namespace than NAMESPACE/NAME is a usage error, for the cluster and for a pick', () => {
    assert.throws(
      () => parseTarget('team-a/app', undefined, 'team-b'),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === '"team-a/app" names namespace team-a, but -n says team-b: drop -n or make them agree',
    );
    assert.throws(() => parseTarget('team-a/app', 'f.yaml', 'team-b'), /but -n says team-b/);
    assert.deepEqual(parseTarget('team-a/app', undefined, 'team-a'), {
      kind: 'cluster',
      namespace: 'team-a',
      name: 'app',
    });
  });

  test('a pick NS/NAME with -n NS matches a document that names no namespace', () => {
    const two = `${doc('app')}---\n${doc('app', 'team-b')}`;
    const picked = pickDocument(two, 'f.yaml', { namespace: 'team-a', name: 'app' }, 'team-a');
    assert.equal(picked.name, 'app');
    assert.equal(picked.namespace, undefined);
    assert.throws(
      () => pickDocument(two, 'f.yaml', { namespace: 'team-a', name: 'app' }),
      /has no SecretDefinition team-a\/app/,
    );
  });
});
