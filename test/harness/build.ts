// Builds the real test stack's binaries from the Go modules beside this file, once per pin.
//
// Each module's binaries are cached outside the repository in a folder named after a hash of the
// module's go.mod, go.sum, Go sources and this script, so a second run finds them at once and a
// changed pin builds anew. A build goes to a temporary folder that is renamed into place only
// when every binary is there, so an interrupted build never leaves a half-filled cache.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from './processes.ts';

const harnessDir = dirname(fileURLToPath(import.meta.url));

export interface GoModuleBuild {
  /** Folder below test/harness holding go.mod and go.sum. */
  readonly module: string;
  readonly binaries: readonly GoBinary[];
  readonly ldflags: readonly string[];
  /** Build tags, for leaving out what the tests never use. */
  readonly tags?: readonly string[];
}

export interface GoBinary {
  readonly name: string;
  /** Package path as `go build` takes it. */
  readonly pkg: string;
}

const kubernetesVersion = 'v1.37.2';
const kubernetesBuildDate = '2026-10-27T12:01:04Z';
const helmVersion = 'v3.22.0';
const openbaoVersion = '2.4.0';
const openbaoCommit = 'f9407a27fbee45f62ba521bba2bf1e2360c61031';
const openbaoBuildDate = '2025-08-28T20:23:15Z';
/** Prometheus 3.16's Go module is v0.316.0. */
const prometheusVersion = '3.16.0';

function kubernetesVersionFlags(pkg: string): string[] {
  const [major, minor] = kubernetesVersion.slice(1).split('.');
  return [
    `-X ${pkg}.gitVersion=${kubernetesVersion}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.buildDate=${kubernetesBuildDate}`,
  ];
}

function helmVersionFlags(): string[] {
  const [major, minor] = kubernetesVersion.slice(1).split('.');
  return [
    `-X helm.sh/helm/v3/internal/version.version=${helmVersion}`,
    `-X helm.sh/helm/v3/internal/version.gitTreeState=clean`,
    ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((pkg) => [
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMajor=${major}`,
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${minor}`,
    ]),
  ];
}

export const modules: readonly GoModuleBuild[] = [
  {
    module: 'kube',
    binaries: [
      { name: 'etcd', pkg: './etcd' },
      { name: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
      { name: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager' },
      { name: 'kubectl', pkg: 'k8s.io/kubernetes/cmd/kubectl' },
      { name: 'helm', pkg: 'helm.sh/helm/v3/cmd/helm' },
    ],
    ldflags: [
      ...kubernetesVersionFlags('k8s.io/component-base/version'),
      ...kubernetesVersionFlags('k8s.io/client-go/pkg/version'),
      ...helmVersionFlags(),
    ],
  },
  {
    module: 'openbao',
    binaries: [{ name: 'bao', pkg: './bao' }],
    ldflags: [
      `-X github.com/openbao/openbao/version.fullVersion=${openbaoVersion}`,
      `-X github.com/openbao/openbao/version.GitCommit=${openbaoCommit}`,
      `-X github.com/openbao/openbao/version.BuildDate=${openbaoBuildDate}`,
    ],
  },
  {
    module: 'prometheus',
    binaries: [
      { name: 'prometheus', pkg: 'github.com/prometheus/prometheus/cmd/prometheus' },
      { name: 'promtool', pkg: 'github.com/prometheus/prometheus/cmd/promtool' },
    ],
    ldflags: [
      `-X github.com/prometheus/common/version.Version=${prometheusVersion}`,
      '-X github.com/prometheus/common/version.Branch=release',
    ],
    // Static targets only: none of the service discoveries (cloud SDKs, Kubernetes) is built.
    tags: ['remove_all_sd'],
  },
];

/** Where built binaries are kept: outside the repository, so clean clones share them. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['SECRETS_MANAGER_HARNESS_CACHE'];
  if (explicit) return explicit;
  const xdg = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(xdg, 'secrets-manager', 'harness');
}

async function sourceFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await sourceFiles(path)));
    else if (/\.go$|^go\.(mod|sum)$/.test(entry.name)) found.push(path);
  }
  return found.sort();
}

/** A hash of everything that decides what a module's binaries are. */
export async function moduleHash(build: GoModuleBuild, root = harnessDir): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await sourceFiles(join(root, build.module))) {
    hash
      .update(`${relative(root, file)}\0`)
      .update(await readFile(file))
      .update('\0');
  }
  // The build script decides flags and layout, so it is part of every module's key.
  hash.update(await readFile(fileURLToPath(import.meta.url))).update(JSON.stringify(build));
  return hash.digest('hex').slice(0, 16);
}

export async function moduleBinDir(build: GoModuleBuild, root = cacheRoot()): Promise<string> {
  return join(root, `${build.module}-${await moduleHash(build)}`);
}

function isComplete(dir: string, build: GoModuleBuild): boolean {
  return build.binaries.every((binary) => existsSync(join(dir, binary.name)));
}

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOTOOLCHAIN: 'local',
    GOWORK: 'off',
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=readonly -buildvcs=false',
  };
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  onLine?: (line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: goEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        stderrTail = (stderrTail + line + '\n').slice(-8000);
        onLine?.(line);
      }
    });
    child.on('error', (error) =>
      reject(new Error(`cannot run ${command}: ${error.message}; is Go installed and on PATH?`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(`${command} ${args.join(' ')} failed (exit ${code}) in ${cwd}:\n${stderrTail}${partial}`),
        );
    });
  });
}

/** Keeps the cache from growing with every pin: the newest other build of a module stays, for switching back. */
async function pruneOldBuilds(build: GoModuleBuild, root: string, keep: string): Promise<void> {
  const entries = (await readdir(root, { withFileTypes: true })).filter(
    (entry) => entry.isDirectory() && entry.name.startsWith(`${build.module}-`),
  );
  // Staging folders of builds that were killed: their builder process is gone.
  for (const entry of entries) {
    const builder = /\.tmp-(\d+)$/.exec(entry.name)?.[1];
    if (builder && !isAlive(Number(builder)))
      await rm(join(root, entry.name), { recursive: true, force: true });
  }
  const others = entries
    .filter((entry) => !entry.name.includes('.tmp-'))
    .map((entry) => join(root, entry.name));
  const dated = await Promise.all(
    others.filter((dir) => dir !== keep).map(async (dir) => ({ dir, mtime: (await stat(dir)).mtimeMs })),
  );
  dated.sort((a, b) => b.mtime - a.mtime);
  for (const { dir } of dated.slice(1)) await rm(dir, { recursive: true, force: true });
}

export type ProgressReporter = (message: string) => void;

/** Builds one module's binaries into the cache unless they are there already; returns their folder. */
export async function buildModule(
  build: GoModuleBuild,
  report: ProgressReporter,
  root = cacheRoot(),
): Promise<string> {
  const target = await moduleBinDir(build, root);
  if (isComplete(target, build)) return target;

  const moduleDir = join(harnessDir, build.module);
  const names = build.binaries.map((binary) => binary.name).join(', ');
  report(`building ${names} from test/harness/${build.module} (cold builds take many minutes)`);
  const packages = build.binaries.map((binary) => binary.pkg);
  const tags = build.tags?.length ? ['-tags', build.tags.join(',')] : [];
  const total = (await run('go', ['list', '-deps', ...tags, ...packages], moduleDir))
    .split('\n')
    .filter(Boolean).length;

  const staging = `${target}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const started = Date.now();
  let compiled = 0;
  let current = '';
  // A heartbeat rather than a line per package: linking prints nothing for minutes.
  const heartbeat = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    report(
      `  ${build.module}: ${compiled} of at most ${total} packages compiled, ${seconds}s (now: ${current})`,
    );
  }, 20_000);
  try {
    for (const binary of build.binaries) {
      current = binary.name;
      // One `go build` per binary: several main packages with one -o folder work too, but a
      // failure then names no binary. The shared build cache makes the later ones quick.
      const flags = ['-s', '-w', ...build.ldflags].join(' ');
      await run(
        'go',
        [
          'build',
          '-v',
          '-trimpath',
          ...tags,
          '-ldflags',
          flags,
          '-o',
          join(staging, binary.name),
          binary.pkg,
        ],
        moduleDir,
        () => {
          compiled += 1;
        },
      );
    }
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
  await pruneOldBuilds(build, root, target);
  report(`built ${names} in ${Math.round((Date.now() - started) / 1000)}s -> ${target}`);
  return target;
}

export interface HarnessBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubectl: string;
  readonly helm: string;
  readonly bao: string;
  readonly prometheus: string;
  readonly promtool: string;
}

/** Builds whatever is missing and returns the path of every binary. */
export async function ensureBinaries(report: ProgressReporter): Promise<HarnessBinaries> {
  const dirs = new Map<string, string>();
  for (const build of modules) dirs.set(build.module, await buildModule(build, report));
  const kube = dirs.get('kube');
  const openbao = dirs.get('openbao');
  const prometheus = dirs.get('prometheus');
  if (!kube || !openbao || !prometheus)
    throw new Error('harness module list lost its kube, openbao or prometheus entry');
  return {
    etcd: join(kube, 'etcd'),
    kubeApiserver: join(kube, 'kube-apiserver'),
    kubeControllerManager: join(kube, 'kube-controller-manager'),
    kubectl: join(kube, 'kubectl'),
    helm: join(kube, 'helm'),
    bao: join(openbao, 'bao'),
    prometheus: join(prometheus, 'prometheus'),
    promtool: join(prometheus, 'promtool'),
  };
}
