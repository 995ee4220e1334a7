// The Dockerfile's runtime stage, read the way the image runs: what tests and the benchmark need
// to run the operator exactly as the image does, with no Docker engine here.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..', '..');

export interface RuntimeStage {
  /** The text after FROM of the final stage. */
  readonly from: string;
  readonly copies: readonly string[];
  readonly user: string;
  /** The ENTRYPOINT, exec form. */
  readonly entrypoint: readonly string[];
}

export async function runtimeStage(): Promise<RuntimeStage> {
  const dockerfile = await readFile(join(repoRoot, 'Dockerfile'), 'utf8');
  const last = dockerfile.split(/^FROM /m).at(-1) ?? '';
  const lines = last.split('\n').map((l) => l.trim());
  const entrypoint = lines.find((l) => l.startsWith('ENTRYPOINT '))?.slice(11) ?? '[]';
  const parsed = JSON.parse(entrypoint) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`the Dockerfile ENTRYPOINT is not in exec form: ${entrypoint}`);
  }
  return {
    from: lines[0] ?? '',
    copies: lines.filter((l) => l.startsWith('COPY ')),
    user: lines.find((l) => l.startsWith('USER '))?.slice(5) ?? '',
    entrypoint: parsed,
  };
}

/** The options the image gives node before the script: ["--max-semi-space-size=2"], say. */
export async function imageNodeOptions(): Promise<string[]> {
  const [node, ...rest] = (await runtimeStage()).entrypoint;
  if (node !== 'node') throw new Error(`the image does not start node: ${String(node)}`);
  return rest.filter((part) => part.startsWith('--'));
}
