// `npm run cluster -- up|down|status`: the real test stack for a developer's shell, in .cluster/.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envFile, readState, stackStatus, startStack, stopStack } from './stack.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const clusterDir = join(repoRoot, '.cluster');
const report = (message: string): void => void process.stderr.write(`${message}\n`);

async function up(): Promise<number> {
  const existing = await readState(clusterDir);
  if (existing) {
    const statuses = await stackStatus(existing);
    if (statuses.every((status) => status.healthy)) {
      report(`the stack is already running; load it with: source ${envFile(clusterDir)}`);
      return 0;
    }
    report('a previous stack is not healthy; replacing it');
    await stopStack(clusterDir);
  }
  await startStack(clusterDir, { report });
  report(`load it with: source ${envFile(clusterDir)}`);
  return 0;
}

async function down(): Promise<number> {
  await stopStack(clusterDir);
  report('stack stopped and its data removed');
  return 0;
}

async function status(): Promise<number> {
  const state = await readState(clusterDir);
  if (!state) {
    report('no stack (start one with: npm run cluster -- up)');
    return 1;
  }
  const statuses = await stackStatus(state);
  for (const s of statuses) {
    const what = s.healthy ? 'healthy' : s.running ? 'running, not healthy' : 'not running';
    process.stdout.write(`${s.name.padEnd(24)} pid ${String(s.pid).padEnd(8)} ${what}\n`);
  }
  process.stdout.write(`${'kube-apiserver'.padEnd(24)} ${state.kube.server}\n`);
  process.stdout.write(`${'openbao'.padEnd(24)} ${state.vault.addr}\n`);
  process.stdout.write(`env file                 ${envFile(clusterDir)}\n`);
  return statuses.every((s) => s.healthy) ? 0 : 1;
}

const commands: Record<string, () => Promise<number>> = { up, down, status };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  report('usage: npm run cluster -- up|down|status');
  process.exitCode = 2;
} else {
  command().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      report(`cluster ${process.argv[2]}: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
