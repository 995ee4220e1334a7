// `secrets-manager explain` on the real stack, run as a user runs it: with the operator's flags and
// AppRole identity. What it says is checked against what the operator's status says; that it
// writes nothing, against the cluster and Vault's audit log; that it prints no value, against
// every byte it printed.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apiVersion, kind } from '../../src/api/types.ts';
import { auditEntriesSince, auditMark } from '../support/audit.ts';
import {
  applyDefinition,
  ensureCrd,
  operatorEnv,
  putKv2,
  readDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitReady,
  type DefinitionSpec,
} from '../support/operator.ts';
import { freshNamespace, kubectl, testStack } from '../support/stack.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Explained {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Every string a test seeded into Vault: none may appear in anything explain prints. */
const seeded: string[] = [];

function seed(value: string): string {
  seeded.push(value, Buffer.from(value).toString('base64'));
  return value;
}

function assertNoValue(printed: Explained): void {
  for (const value of seeded) {
    assert.ok(!printed.stdout.includes(value), `stdout holds a seeded value`);
    assert.ok(!printed.stderr.includes(value), `stderr holds a seeded value`);
  }
}

/** Runs `secrets-manager explain ARGS` with the operator's connection flags and AppRole identity. */
async function explainCli(args: readonly string[]): Promise<Explained> {
  const { state } = await testStack();
  const env = await operatorEnv();
  const result = await new Promise<Explained>((resolve) => {
    execFile(
      process.execPath,
      [
        join(repoRoot, 'src', 'main.ts'),
        'explain',
        `--kubeconfig=${state.kube.kubeconfig}`,
        `--vault.url=${state.vault.addr}`,
        ...args,
      ],
      {
        cwd: repoRoot,
        env,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  assertNoValue(result);
  return result;
}

interface JsonExplanation {
  verdict: { ready: boolean; reason: string; message: string };
  keys: { secretKey: string; policy: string; found: string; live: string }[];
  changes: { kind: string; added?: string[]; changed?: string[]; removed?: string[] };
}

async function explainJson(args: readonly string[]): Promise<Explained & { json: JsonExplanation }> {
  const result = await explainCli([...args, '-o', 'json']);
  return { ...result, json: JSON.parse(result.stdout) as JsonExplanation };
}

async function definitionFile(t: TestContext, namespace: string, name: string, spec: DefinitionSpec) {
  const dir = await mkdtemp(join(tmpdir(), 'explain-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify({ apiVersion, kind, metadata: { name, namespace }, spec }));
  return file;
}

/** The key rows, by Secret key (the apiserver keeps keysMap in key order, a file in its own). */
const keysOf = (json: JsonExplanation) =>
  json.keys
    .map((k) => [k.secretKey, k.policy, k.found, k.live])
    .sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));

describe('secrets-manager explain', () => {
  test('a good definition: before it is applied its keys would be added; once synced they match; edited by hand, the key differs and applying would change it; explain writes nothing', async (t) => {
    await ensureCrd();
    const ns = await freshNamespace(t, 'explain');
    await putKv2(`secret/${ns}/db`, {
      username: seed('app-user-explain'),
      password: seed('pw-explain-8f3a'),
    });
    const spec: DefinitionSpec = {
      name: 'app-db',
      keysMap: {
        user: { path: `secret/${ns}/db`, key: 'username' },
        password: { path: `secret/data/${ns}/db`, key: 'password' },
      },
    };
    const file = await definitionFile(t, ns, 'app-db', spec);

    const before = await explainJson(['-f', file]);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.json.verdict.reason, 'Synced');
    assert.deepEqual(keysOf(before.json), [
      ['password', 'allowed', 'found', 'added'],
      ['user', 'allowed', 'found', 'added'],
    ]);
    assert.deepEqual(before.json.changes, { kind: 'create', added: ['password', 'user'] });
    assert.equal(await secretData(ns, 'app-db'), undefined, 'explain created no Secret');

    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'app-db', spec);
    await waitForReady(ns, 'app-db', 'True', 'Synced');
    const synced = await explainCli([`${ns}/app-db`]);
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stdout, /^Ready: +True Synced$/m);
    assert.match(synced.stdout, /^user +secret\/\S+\/db key username +latest +allowed +found +matches$/m);
    assert.match(synced.stdout, /nothing would change: Secret app-db is in sync/);

    // Stopped, so nothing repairs the edit: someone changes the live Secret by hand.
    assert.equal(await operator.stop(), 0);
    await kubectl([
      'patch',
      'secret',
      'app-db',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ data: { password: Buffer.from(seed('typed-by-hand-77')).toString('base64') } }),
    ]);
    const secretVersion = await kubectl([
      'get',
      'secret',
      'app-db',
      '-n',
      ns,
      '-o',
      'jsonpath={.metadata.resourceVersion}',
    ]);
    const definitionVersion = (await readDefinition(ns, 'app-db')).metadata['resourceVersion'];
    const { core } = await testStack();
    const eventsBefore = (await core.listNamespacedEvent({ namespace: ns })).items.length;
    const mark = await auditMark();
    const drifted = await explainJson([`${ns}/app-db`]);
    assert.equal(drifted.code, 0, drifted.stderr);
    assert.deepEqual(keysOf(drifted.json), [
      ['password', 'allowed', 'found', 'differs'],
      ['user', 'allowed', 'found', 'matches'],
    ]);
    assert.deepEqual(drifted.json.changes, { kind: 'update', added: [], changed: ['password'], removed: [] });
    const text = await explainCli([`${ns}/app-db`]);
    assert.match(text.stdout, /^password +secret\/data\/\S+ key password +latest +allowed +found +differs$/m);
    assert.match(text.stdout, /keys changed: password/);

    // Read-only: the Secret and the definition are as they were, no Event, and Vault saw reads only.
    assert.equal(
      await kubectl(['get', 'secret', 'app-db', '-n', ns, '-o', 'jsonpath={.metadata.resourceVersion}']),
      secretVersion,
    );
    assert.equal((await readDefinition(ns, 'app-db')).metadata['resourceVersion'], definitionVersion);
    assert.equal((await secretData(ns, 'app-db'))?.['password'], 'typed-by-hand-77');
    const writes = (await auditEntriesSince(mark)).filter(
      (e) => e.type === 'request' && e.operation !== 'read' && !e.path.startsWith('auth/'),
    );
    assert.deepEqual(
      writes.map((e) => `${e.operation} ${e.path}`),
      [],
      'explain wrote nothing to Vault',
    );
    assert.equal((await core.listNamespacedEvent({ namespace: ns })).items.length, eventsBefore, 'no Event');
  });

  test('a path the access policy denies: exit 1 with the reason and message of the status', async (t) => {
    const ns = await freshNamespace(t, 'explain');
    await putKv2(`secret/${ns}-other/db`, { password: seed('not-yours-41c2') });
    const dir = await mkdtemp(join(tmpdir(), 'explain-policy-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const policy = join(dir, 'policy.yaml');
    await writeFile(policy, `- namespaces: ["${ns}"]\n  paths: ["secret/data/{namespace}/*"]\n`);
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`, `--access-policy=${policy}`],
    });
    await waitReady(operator);
    await applyDefinition(ns, 'other', {
      name: 'other',
      keysMap: { p: { path: `secret/${ns}-other/db`, key: 'password' } },
    });
    const status = await waitForReady(ns, 'other', 'False', 'PathNotAllowed');

    const denied = await explainJson([`--access-policy=${policy}`, `${ns}/other`]);
    assert.equal(denied.code, 1);
    assert.deepEqual(denied.json.verdict, { ready: false, reason: status.reason, message: status.message });
    assert.deepEqual(keysOf(denied.json), [['p', 'denied', 'notRead', 'notCompared']]);
    assert.deepEqual(denied.json.changes, { kind: 'notSynced' });
    // Without the operator's --access-policy, explain speaks for an operator without one.
    const open = await explainJson([`${ns}/other`]);
    assert.equal(open.code, 0, open.stderr);
  });

  test('a missing key and a template that does not render: exit 1 with the status reasons, KeyNotFound and TemplateError', async (t) => {
    const ns = await freshNamespace(t, 'explain');
    await putKv2(`secret/${ns}/db`, { password: seed('pw-template-93d1') });
    const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'missing', {
      name: 'missing',
      keysMap: {
        p: { path: `secret/${ns}/db`, key: 'password' },
        u: { path: `secret/${ns}/db`, key: 'username' },
      },
    });
    await applyDefinition(ns, 'templated', {
      name: 'templated',
      keysMap: { p: { path: `secret/${ns}/db`, key: 'password' } },
      template: { data: { url: 'postgres://app:{{ data.p | nosuchfilter }}@db' } },
    });
    for (const [name, reason] of [
      ['missing', 'KeyNotFound'],
      ['templated', 'TemplateError'],
    ] as const) {
      const status = await waitForReady(ns, name, 'False', reason);
      const explained = await explainJson([`${ns}/${name}`]);
      assert.equal(explained.code, 1, explained.stderr);
      assert.deepEqual(explained.json.verdict, { ready: false, reason, message: status.message });
      const text = await explainCli([`${ns}/${name}`]);
      assert.equal(text.code, 1);
      assert.match(text.stdout, new RegExp(`^Ready: +False ${reason}$`, 'm'));
      assert.match(text.stdout, /nothing would be written: the operator writes all keys or none/);
    }
    const missing = await explainJson([`${ns}/missing`]);
    assert.deepEqual(keysOf(missing.json), [
      ['p', 'allowed', 'found', 'notCompared'],
      ['u', 'allowed', 'keyNotFound', 'notCompared'],
    ]);
  });

  // -o json: every run above parsed its stdout as one document, and every run, text or JSON, went
  // through assertNoValue: no seeded value, nor its base64, in stdout or stderr.
  test('a definition the cluster does not have is a usage error: exit 2, saying what to check', async () => {
    await ensureCrd();
    const unknown = await explainCli(['no-such-namespace/app']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /there is no SecretDefinition no-such-namespace\/app in the cluster: check the name/,
    );
  });
});
