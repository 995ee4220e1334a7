// node:test global setup for integration tests: one real stack per test run, shared by every test
// file (each isolates itself by namespace) and torn down when the run ends.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../harness/processes.ts';
import { readState, startStack, stateFile, stopStack } from '../harness/stack.ts';
import { stackStateVariable } from './stack.ts';

const testStacksRoot = join(tmpdir(), 'secrets-manager-test-stacks');
let stackDir: string | undefined;

const report = (message: string): void => void process.stderr.write(`[test stack] ${message}\n`);

/** Stacks left by runs that were killed before their teardown: their owner process is gone. */
async function removeAbandonedStacks(): Promise<void> {
  if (!existsSync(testStacksRoot)) return;
  for (const name of await readdir(testStacksRoot)) {
    const dir = join(testStacksRoot, name);
    const owner = Number(name.split('-')[0]);
    if (owner > 0 && isAlive(owner)) continue;
    report(`removing the abandoned stack ${dir}`);
    await stopStack(dir);
  }
}

export async function globalSetup(): Promise<void> {
  await removeAbandonedStacks();
  // The folder name starts with this process's pid: the owner whose death marks it abandoned.
  stackDir = join(testStacksRoot, `${process.pid}-${randomBytes(4).toString('hex')}`);
  const state = await startStack(stackDir, { report });
  process.env[stackStateVariable] = stateFile(state.dir);
  // A run interrupted by Ctrl-C still stops its daemons.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void globalTeardown().finally(() => process.exit(130));
    });
  }
}

export async function globalTeardown(): Promise<void> {
  const dir = stackDir;
  stackDir = undefined;
  if (dir && (await readState(dir))) await stopStack(dir);
}
