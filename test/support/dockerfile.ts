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
  /** The environment its ENV lines set (`ENV NAME=value` form only). */
  readonly env: Readonly<Record<string, string>>;
}

export async function runtimeStage(): Promise<RuntimeStage> {
  return parseRuntimeStage(await readFile(join(repoRoot, 'Dockerfile'), 'utf8'));
}

/** The final stage of a Dockerfile's text. */
export function parseRuntimeStage(dockerfile: string): RuntimeStage {
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
    env: Object.fromEntries(
      lines
        .filter((l) => /^ENV\s/i.test(l))
        .flatMap((l) => Object.entries(assignments(l.slice(4), "the Dockerfile's ENV"))),
    ),
  };
}

/**
 * `NAME=value NAME2=value2`, as an ENV line or an override variable writes them. Quotes, `$` and
 * backslashes are refused rather than read one way or another, and so is the legacy `ENV NAME value`.
 */
export function assignments(text: string, where: string): Record<string, string> {
  const parsed: Record<string, string> = {};
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^\s"'$\\]*)$/.exec(word);
    if (!match)
      throw new Error(`${where} is not in NAME=value form (no quotes, no $, no \\): ${text.trim()}`);
    parsed[match[1] ?? ''] = match[2] ?? '';
  }
  return parsed;
}

/** The options the image gives node before the script: ["--max-semi-space-size=2"], say. */
export async function imageNodeOptions(): Promise<string[]> {
  const [node, ...rest] = (await runtimeStage()).entrypoint;
  if (node !== 'node') throw new Error(`the image does not start node: ${String(node)}`);
  return rest.filter((part) => part.startsWith('--'));
}

/**
 * The environment the image sets ({NODE_ENV: 'production', MALLOC_ARENA_MAX: '2'}, say), with the
 * assignments in the variable `override` over it: `SOAK_ENV='MALLOC_ARENA_MAX=8'` for a comparison.
 */
export async function imageEnv(override: string): Promise<Readonly<Record<string, string>>> {
  return { ...(await runtimeStage()).env, ...assignments(process.env[override] ?? '', override) };
}
