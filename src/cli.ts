// The command line: `secrets-manager [run]`, `validate FILE...`, `explain` and `version`, with the flags of
// flags.ts, read the Go way (go-flags.ts) as well as commander's.

import type { CommanderError, ParseOptions } from 'commander';
import { Command, Help, Option } from 'commander';
import { flagGroups, flags, type FlagSpec, type SettingSource } from './flags.ts';
import { goStyleArgs } from './go-flags.ts';
import type { Backend } from './api/types.ts';

export interface CliActions {
  run(
    options: Readonly<Record<string, string | boolean | undefined>>,
    sources: Readonly<Record<string, SettingSource>>,
  ): Promise<void>;
  validate(files: readonly string[], backend: Backend): Promise<number>;
  /** Explains one definition with the operator's settings; answers the exit code. */
  explain(
    request: ExplainRequest,
    options: Readonly<Record<string, string | boolean | undefined>>,
  ): Promise<number>;
  version(): string;
}

export interface ExplainRequest {
  /** NAMESPACE/NAME; with a file, the document to pick. */
  readonly definition?: string;
  readonly file?: string;
  readonly namespace?: string;
  readonly output: 'text' | 'json';
}

const explainExamples = `
It uses the operator's flags and environment (--access-policy, --vault.*, VAULT_ADDR, ...),
given before or after explain, and writes nothing to Kubernetes or Vault. No value, token or
hash of a value is printed. Exit code: 0 it would sync, 1 it would not (the Ready reason says
why), 2 a usage error, 3 it could not explain (a read with your credentials was refused or
failed).

Examples:
  secrets-manager explain team-a/app-db
  secrets-manager explain -f app-db.yaml -o json
  secrets-manager --access-policy policy.yaml explain -f defs.yaml app-db
  kubectl get secretdefinition -n team-a app-db -o yaml | secrets-manager explain -f -
  kubectl secrets-manager explain team-a/app-db            (the kubectl plugin)
  kubectl exec -n secrets-manager deploy/secrets-manager -- node /app/dist/main.js explain team-a/app-db
                                  (in the operator's pod: its identity and environment; repeat its flags)
`;

function explainCommand(
  actions: CliActions,
  settings: () => Record<string, string | boolean | undefined>,
): Command {
  return new QuietCommand('explain')
    .description(
      'Explain why a SecretDefinition is or is not Ready: per key its source, the access policy, whether it was found and matches the live Secret, and what applying it would change',
    )
    .argument(
      '[definition]',
      'NAMESPACE/NAME of a SecretDefinition in the cluster; with -f, the NAME (or NAMESPACE/NAME) of the document to explain when the file holds several',
    )
    .option(
      '-f, --filename <file>',
      'explain the SecretDefinition in this YAML file (not applied yet, or edited); - reads standard input; at most 1.5 MiB',
    )
    .option(
      '-n, --namespace <namespace>',
      "namespace of a definition from -f that names none (default: the kubeconfig context's, else default)",
    )
    .addOption(
      new Option('-o, --output <format>', 'text for people, json for scripts')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addHelpText('after', explainExamples)
    .exitOverride()
    .action(
      async (
        definition: string | undefined,
        opts: { filename?: string; namespace?: string; output: string },
      ) => {
        const request: ExplainRequest = {
          ...(definition === undefined ? {} : { definition }),
          ...(opts.filename === undefined ? {} : { file: opts.filename }),
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          output: opts.output === 'json' ? 'json' : 'text',
        };
        process.exitCode = await actions.explain(request, settings());
      },
    );
}

function toOption(spec: FlagSpec): Option {
  const option = new Option(
    spec.value ? `--${spec.flag} <${spec.value}>` : `--${spec.flag}`,
    spec.envWins ? `${spec.description}; ${spec.env ?? ''} wins over the flag` : spec.description,
  ).helpGroup(`${groupOf(spec)}:`);
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.env) option.env(spec.env);
  return option;
}

function groupOf(spec: FlagSpec): string {
  const group = flagGroups.find((candidate) => candidate.flags.includes(spec));
  if (!group) throw new Error(`--${spec.flag} is in no group of src/flags.ts`);
  return group.title;
}

/**
 * A command whose usage errors never repeat a value: commander quotes a whole unknown option
 * (`--vault.secretid=...`) and every excess argument, which would put a mistyped secret in the
 * pod's log.
 */
class QuietCommand extends Command {
  /** Commander's own handler (not in its typings), given the option's name alone. */
  unknownOption(flag: string): void {
    const base = Command.prototype as unknown as { unknownOption(this: Command, flag: string): void };
    base.unknownOption.call(this, flag.replace(/=[^]*$/, ''));
  }

  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    const quiet =
      errorOptions?.code === 'commander.excessArguments'
        ? message.replace(/(but got \d+): [^]*$/, '$1 (not repeated: one may be a secret).')
        : message;
    return super.error(quiet, errorOptions);
  }
}

/** A program that reads its command line the way Go's flag package would (goStyleArgs). */
class GoStyleCommand extends QuietCommand {
  override parseAsync(argv?: readonly string[], options?: ParseOptions): Promise<this> {
    const all = argv ?? process.argv;
    // The first two are node and the script, unless told the arguments are the user's alone.
    const skip = options?.from === 'user' ? 0 : 2;
    return super.parseAsync([...all.slice(0, skip), ...goStyleArgs(all.slice(skip))], options);
  }
}

export function buildProgram(actions: CliActions): Command {
  const program = new GoStyleCommand('secrets-manager')
    .description('Keeps Kubernetes Secrets in sync with HashiCorp Vault and OpenBao')
    .version(actions.version(), '--version', 'Print the version')
    .showHelpAfterError(false)
    .exitOverride();
  // The flags belong to the program alone, and commander reads a program's options before and
  // after a subcommand: `secrets-manager --x 1`, `secrets-manager run --x 1` and
  // `secrets-manager --x 1 run` are one parse with one result. (Registered on `run` as well, the
  // program took them and `run` acted on its defaults.)
  const options = flags.map(toOption);
  for (const option of options) program.addOption(option);
  const run = new QuietCommand('run')
    .description('Run the operator (the default command)')
    .exitOverride()
    // Its help lists the flags it takes, grouped as the program's help groups them.
    .configureHelp({
      visibleOptions: (cmd) => [...options, ...helpOptionOf(cmd)],
    });
  const collect = (): [Record<string, string | boolean | undefined>, Record<string, SettingSource>] => {
    const values = program.opts<Record<string, string | boolean | undefined>>();
    const settings: Record<string, string | boolean | undefined> = {};
    const sources: Record<string, SettingSource> = {};
    flags.forEach((spec, i) => {
      const attribute = options[i]?.attributeName() ?? '';
      const fromEnv = spec.env ? process.env[spec.env] : undefined;
      if (spec.envWins && fromEnv !== undefined && fromEnv !== '') {
        settings[spec.key] = fromEnv;
        sources[spec.key] = 'env';
        return;
      }
      settings[spec.key] = values[attribute];
      const source = program.getOptionValueSource(attribute);
      sources[spec.key] =
        source === 'cli' ? 'flag' : source === 'env' ? 'env' : source === 'default' ? 'default' : 'unset';
    });
    return [settings, sources];
  };
  run.action(async () => actions.run(...collect()));
  program.action(async () => actions.run(...collect()));
  program.addCommand(run);
  program.addCommand(
    new QuietCommand('validate')
      .description("Check SecretDefinition manifests offline with the operator's own rules")
      .argument('<files...>', 'YAML files, each with one or more documents')
      .exitOverride()
      .action(async (files: string[]) => {
        // --backend is the program's, as for run: paths and versions are checked for that backend.
        const backend = collect()[0]['backend'];
        if (backend !== 'vault' && backend !== 'azure-kv') {
          process.stderr.write(`--backend: "${String(backend)}" must be vault or azure-kv\n`);
          process.exitCode = 2;
          return;
        }
        process.exitCode = await actions.validate(files, backend);
      }),
  );
  // The operator's settings, read as run reads them: explain sees what the operator sees.
  program.addCommand(explainCommand(actions, () => collect()[0]));
  program.addCommand(
    new QuietCommand('version')
      .description('Print the version')
      .exitOverride()
      .action(() => {
        process.stdout.write(`${actions.version()}\n`);
      }),
  );
  return program;
}

/** The --help option of a command, to list beside the flags its parent holds for it. */
function helpOptionOf(cmd: Command): Option[] {
  // Commander's own Help, not the command's configured one, which would call back here.
  return new Help().visibleOptions(cmd).filter((option) => option.long === '--help');
}

/** Exit code for a commander error: help and version are fine, anything else is a usage error. */
export function exitCodeOf(error: CommanderError): number {
  return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? 0 : 2;
}
