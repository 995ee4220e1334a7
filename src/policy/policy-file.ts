// The access policy file, watched: read at start (a broken or missing file stops the operator
// before it does anything), then re-read whenever it changes. A file that becomes broken keeps the
// last good policy in force and says so; a good change takes effect at once and is announced so
// every definition can be checked against it.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { parseAccessPolicy, type AccessPolicy } from './access-policy.ts';

export interface PolicyFileLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface PolicyFileOptions {
  readonly path: string;
  readonly logger: PolicyFileLogger;
  /** How often the file is checked; a ConfigMap volume changes by swapping a symlink, which
   * inotify on the file itself would miss, so the check reads the file's metadata. */
  readonly checkEveryMs: number;
  /** Called after a changed, valid policy took effect. */
  readonly onChange: (policy: AccessPolicy) => void;
  /** Paths are flat names (Azure Key Vault): see parseAccessPolicy. */
  readonly flatNames?: boolean;
}

export class PolicyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyFileError';
  }
}

async function load(
  path: string,
  flatNames: boolean,
): Promise<{ policy: AccessPolicy; digest: string } | { problems: readonly string[]; digest: string }> {
  const text = await readFile(path, 'utf8');
  const digest = createHash('sha256').update(text).digest('hex');
  const parsed = parseAccessPolicy(text, { flatNames });
  return parsed.ok ? { policy: parsed.policy, digest } : { problems: parsed.problems, digest };
}

export class PolicyFile {
  readonly #options: PolicyFileOptions;
  #policy: AccessPolicy;
  #digest: string;
  #stamp = '';
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  /** The file on disk is not the policy in force (unreadable or invalid). */
  #broken = false;

  private constructor(options: PolicyFileOptions, policy: AccessPolicy, digest: string) {
    this.#options = options;
    this.#policy = policy;
    this.#digest = digest;
  }

  /** Reads the file once; throws PolicyFileError naming every problem when it is missing or invalid. */
  static async open(options: PolicyFileOptions): Promise<PolicyFile> {
    let loaded;
    try {
      loaded = await load(options.path, options.flatNames ?? false);
    } catch (error) {
      throw new PolicyFileError(
        `cannot read the access policy ${options.path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if ('problems' in loaded) {
      throw new PolicyFileError(
        `the access policy ${options.path} is invalid: ${loaded.problems.join('; ')}`,
      );
    }
    const file = new PolicyFile(options, loaded.policy, loaded.digest);
    file.#stamp = await file.#statStamp();
    return file;
  }

  get policy(): AccessPolicy {
    return this.#policy;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.check(), this.#options.checkEveryMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the file again if its metadata changed; answers whether a new policy took effect. */
  async check(): Promise<boolean> {
    if (this.#checking) return false;
    this.#checking = true;
    try {
      const stamp = await this.#statStamp();
      if (stamp === this.#stamp) return false;
      this.#stamp = stamp;
      const { path, logger } = this.#options;
      let loaded;
      try {
        loaded = await load(path, this.#options.flatNames ?? false);
      } catch (error) {
        this.#broken = true;
        logger.error('cannot read the access policy; the last good policy stays in force', {
          file: path,
          error: error instanceof Error ? error.message : String(error),
        });
        return false;
      }
      if (loaded.digest === this.#digest) {
        if (this.#broken)
          logger.info('the access policy file is back to the policy in force', { file: path });
        this.#broken = false;
        return false;
      }
      if ('problems' in loaded) {
        this.#broken = true;
        logger.error('the access policy is invalid; the last good policy stays in force', {
          file: path,
          problems: loaded.problems,
        });
        return false;
      }
      this.#broken = false;
      this.#policy = loaded.policy;
      this.#digest = loaded.digest;
      logger.info('access policy reloaded', { file: path, rules: loaded.policy.rules.length });
      this.#options.onChange(loaded.policy);
      return true;
    } finally {
      this.#checking = false;
    }
  }

  async #statStamp(): Promise<string> {
    try {
      const info = await stat(this.#options.path);
      return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    } catch {
      return 'missing';
    }
  }
}
