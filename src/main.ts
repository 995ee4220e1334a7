#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=20
// Entry point: command line -> config -> app.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import { parseAllDocuments } from 'yaml';
import { kind, type Backend } from './api/types.ts';
import { parseSecretDefinition, type ParseResult } from './api/validate.ts';
import { templateEngine } from './controller/template.ts';
import { buildProgram, exitCodeOf, type ExplainRequest } from './cli.ts';
import { systemClock } from './clock.ts';
import { connectionSources, type SettingSource } from './flags.ts';
import { toConfig } from './config.ts';
import { ConfigError } from './option-values.ts';
import { createLogger } from './observability/logger.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

/** Checks every SecretDefinition in the files; answers the exit code (0 all valid, 1 otherwise). */
/** A valid definition whose templates do not parse is invalid: each names its key and position. */
async function withTemplatesChecked(parsed: ParseResult & { valid: true }): Promise<ParseResult> {
  const templates = parsed.definition.spec.template?.data;
  if (!templates) return parsed;
  const engine = await templateEngine();
  const problems = Object.entries(templates).flatMap(([key, template]) => {
    const problem = engine.check(key, template);
    return problem
      ? [`spec.template.data.${key}: ${problem.message.replace(/^template for key "[^"]*": /, '')}`]
      : [];
  });
  const { metadata, status } = parsed.definition;
  return problems.length ? { valid: false, metadata, status, problems } : parsed;
}

async function validate(files: readonly string[], backend: Backend): Promise<number> {
  let failures = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      process.stderr.write(
        `${file}: cannot be read: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      failures += 1;
      continue;
    }
    const documents = parseAllDocuments(text);
    for (const [index, document] of documents.entries()) {
      const where = documents.length > 1 ? `${file} (document ${index + 1})` : file;
      if (document.errors.length > 0) {
        process.stderr.write(
          `${where}: not valid YAML: ${document.errors[0]?.message.split('\n')[0] ?? ''}\n`,
        );
        failures += 1;
        continue;
      }
      let object: { kind?: unknown; metadata?: { name?: unknown } } | null;
      try {
        // Aliases are expanded with the yaml library's cap: a "billion laughs" document is refused.
        object = document.toJS({ maxAliasCount: 100 }) as typeof object;
      } catch (error) {
        process.stderr.write(
          `${where}: not valid YAML: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        failures += 1;
        continue;
      }
      if (object === null || object.kind !== kind) continue;
      const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '(unnamed)';
      const parsed = parseSecretDefinition(object, { requireIdentity: false, backend });
      const result = parsed.valid ? await withTemplatesChecked(parsed) : parsed;
      if (result.valid) {
        process.stdout.write(`${where}: SecretDefinition ${name} is valid\n`);
      } else {
        failures += 1;
        for (const problem of result.problems)
          process.stderr.write(`${where}: SecretDefinition ${name}: ${problem}\n`);
      }
    }
  }
  return failures === 0 ? 0 : 1;
}

/** `explain`: loaded only when asked for; it exits once its answer is out (timers may remain). */
async function explain(
  request: ExplainRequest,
  options: Readonly<Record<string, string | boolean | undefined>>,
): Promise<number> {
  const { runExplain } = await import('./explain/command.ts');
  const writer = (stream: NodeJS.WriteStream) => ({
    write: (text: string) => new Promise<void>((resolve) => stream.write(text, () => resolve())),
  });
  const code = await runExplain(request, options, {
    stdout: writer(process.stdout),
    stderr: writer(process.stderr),
    stdin: process.stdin,
  });
  process.exit(code);
}

async function run(
  options: Readonly<Record<string, string | boolean | undefined>>,
  sources: Readonly<Record<string, SettingSource>>,
): Promise<void> {
  // First, so process_cpu_seconds_total counts from here: prom-client counts CPU from when its collector starts.
  const { processMetrics } = await import('./observability/process-metrics.ts');
  processMetrics();
  const config = toConfig(options);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  // Where each connection setting came from (VAULT_ADDR, VAULT_ROLE_ID and VAULT_SECRET_ID win
  // over their flags, as in the original), never its value.
  logger.info('connection settings', { sources: connectionSources(sources, config.backend) });
  if (options['vaultTokenPollingPeriod'] !== '15s') {
    logger.warn(
      '--vault.token-polling-period is accepted for compatibility and ignored: renewal follows the token TTL',
    );
  }
  // Loaded only to run: validate and version stay quick without the Kubernetes client.
  const { startApp } = await import('./app.ts');
  const { guardProcess } = await import('./wiring/process-guard.ts');
  let stop: () => void = () => process.exit(1);
  const guard = guardProcess(process, {
    logger,
    stop: () => stop(),
    exit: (code) => process.exit(code),
    clock: systemClock,
    graceMs: 20_000,
  });
  const app = await startApp(config, { logger });
  stop = () => void app.stop('failed');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.stop());
  const cause = await app.stopped;
  // Everything that matters has stopped. Requests still hanging on a dead connection (a watch
  // through a partitioned network, say) must not keep a former leader's process alive.
  process.exit(cause === 'requested' && !guard.failed ? 0 : 1);
}

const program = buildProgram({ run, validate, explain, version });
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = exitCodeOf(error);
  } else if (error instanceof ConfigError) {
    process.stderr.write(`secrets-manager: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`secrets-manager: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
