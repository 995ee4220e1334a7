// The command line as Go's flag package reads it, so the original's manifests work unchanged.

import { ConfigError } from './option-values.ts';
import { flags } from './flags.ts';

const goTrue = ['1', 't', 'T', 'true', 'TRUE', 'True'];
const goFalse = ['0', 'f', 'F', 'false', 'FALSE', 'False'];

/**
 * The command line as Go's flag package reads it, rewritten for commander: the original's
 * manifests say `-vault.url=https://...`, `-reconcile-period 5s` or `-enable-leader-election=false`.
 * For every known flag, one or two dashes; `-name=value` or `-name value` (the next argument is the
 * value, whatever it looks like, as in Go); a boolean alone, or `=true`/`=false` in any of Go's
 * spellings (the last one given wins). Anything else, `--` and what follows it, passes unchanged.
 */
export function goStyleArgs(argv: readonly string[]): string[] {
  const byName = new Map(flags.map((spec) => [spec.flag, spec]));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const match = /^--?([^-=][^=]*)(?:=([\s\S]*))?$/.exec(arg);
    const name = match?.[1];
    if (name === 'help') {
      out.push('--help');
      continue;
    }
    const spec = name === undefined ? undefined : byName.get(name);
    if (!match || !spec) {
      out.push(arg);
      continue;
    }
    const value = match[2];
    if (!spec.value) {
      // A boolean: set, or not. Go's last word wins, so an earlier setting is taken back.
      const on = value === undefined || goTrue.includes(value);
      if (!on && !goFalse.includes(value ?? '')) {
        // The value is not repeated: a secret typed into the wrong flag must not reach the log.
        throw new ConfigError(`-${spec.flag}: the value given is not a boolean (true or false)`);
      }
      for (let j = out.length - 1; j >= 0; j -= 1) if (out[j] === `--${spec.flag}`) out.splice(j, 1);
      if (on) out.push(`--${spec.flag}`);
    } else if (value !== undefined) {
      out.push(`--${spec.flag}=${value}`);
    } else if (i + 1 < argv.length) {
      out.push(`--${spec.flag}=${argv[i + 1] ?? ''}`);
      i += 1;
    } else {
      out.push(`--${spec.flag}`); // commander says the value is missing
    }
  }
  return out;
}
