// What a flag is: its name, its key in the parsed options, its value, default, help text and
// environment variable. The flags themselves are listed where they belong: src/flags.ts for the
// operator's own, src/providers/<backend>/flags.ts for each backend's.

export interface FlagSpec {
  readonly flag: string;
  /** Key in RawOptions (see option-values.ts). */
  readonly key: string;
  readonly value?: string;
  readonly description: string;
  readonly default?: string;
  readonly env?: string;
  /**
   * The variable wins over the flag, as in the original (its help says so for VAULT_ADDR,
   * VAULT_ROLE_ID and VAULT_SECRET_ID); otherwise the flag wins over the variable.
   */
  readonly envWins?: boolean;
  /** Says where the operator connects and as whom: where it came from is logged at start. */
  readonly connection?: boolean;
}

/** Where a setting came from: for the startup log line, which never shows a value. */
export type SettingSource = 'flag' | 'env' | 'default' | 'unset';
