import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cacheRoot, moduleHash, modules } from '../../harness/build.ts';

const harnessDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'harness');

function moduleNamed(name: string) {
  const found = modules.find((m) => m.module === name);
  assert.ok(found, `module ${name} is declared`);
  return found;
}

test('the binary cache lives outside the repository, overridable by variable', () => {
  assert.equal(cacheRoot({ SECRETS_MANAGER_HARNESS_CACHE: '/x/cache' }), '/x/cache');
  assert.equal(cacheRoot({ XDG_CACHE_HOME: '/xdg' }), '/xdg/secrets-manager/harness');
  assert.match(cacheRoot({ HOME: '/home/u' }), /\/\.cache\/secrets-manager\/harness$/);
});

test('the stack builds every binary the tests and the env file promise', () => {
  const names = modules.flatMap((m) => m.binaries.map((b) => b.name)).sort();
  assert.deepEqual(names, [
    'bao',
    'etcd',
    'helm',
    'kube-apiserver',
    'kube-controller-manager',
    'kubectl',
    'prometheus',
    'promtool',
  ]);
});

test('binaries are version-stamped, so clients never see v0.0.0-master', () => {
  const kube = moduleNamed('kube').ldflags.join(' ');
  assert.match(kube, /k8s\.io\/component-base\/version\.gitVersion=v1\.\d+\.\d+/);
  assert.match(kube, /helm\.sh\/helm\/v3\/internal\/version\.version=v3\./);
  assert.match(moduleNamed('openbao').ldflags.join(' '), /openbao\/version\.fullVersion=2\./);
  assert.match(moduleNamed('prometheus').ldflags.join(' '), /prometheus\/common\/version\.Version=3\./);
});

test('Prometheus is built without its service discoveries: the tests name their targets', () => {
  assert.deepEqual(moduleNamed('prometheus').tags, ['remove_all_sd']);
});

test('a module hash is stable, differs per module, and changes when a pin changes', async (t) => {
  const kube = moduleNamed('kube');
  const first = await moduleHash(kube);
  assert.equal(await moduleHash(kube), first);
  assert.notEqual(await moduleHash(moduleNamed('openbao')), first);

  const copy = await mkdtemp(join(tmpdir(), 'harness-hash-'));
  t.after(() => rm(copy, { recursive: true, force: true }));
  await cp(join(harnessDir, 'kube'), join(copy, 'kube'), { recursive: true });
  assert.equal(await moduleHash(kube, copy), first, 'same files, same hash wherever they are');
  await writeFile(join(copy, 'kube', 'go.sum'), 'changed pin\n', { flag: 'a' });
  assert.notEqual(await moduleHash(kube, copy), first);
});
