// Flag values as commander hands them over (strings, booleans, or absent), read one at a time and
// checked: each reader names the flag in the one-line ConfigError that says what to fix. The
// operator's Config (config.ts) and each backend's settings (providers/*/config.ts) are read with these.

import { formatDuration, parseDuration } from './api/duration.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Option values as commander hands them over: strings, booleans, or absent. */
export type RawOptions = Readonly<Record<string, string | boolean | undefined>>;

export function text(raw: RawOptions, name: string): string | undefined {
  const value = raw[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A URL as an error may quote it: a user and password in it (refused anyway) are not repeated. */
export function withoutUserInfo(url: string): string {
  return url.replace(/^([^:/?#]*:\/\/)[^/?#]*@/, '$1…@');
}

export function required(raw: RawOptions, name: string, flag: string): string {
  const value = text(raw, name);
  if (value === undefined) throw new ConfigError(`--${flag} must not be empty`);
  return value;
}

export function duration(raw: RawOptions, name: string, flag: string): number {
  const value = required(raw, name, flag);
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new ConfigError(`--${flag}: "${value}" is not a duration; use a value like 30s, 5m or 1h`);
  return ms;
}

export function atLeast(ms: number, minimum: number, flag: string): number {
  if (ms < minimum) throw new ConfigError(`--${flag} must be at least ${formatDuration(minimum)}`);
  return ms;
}

export function integer(
  raw: RawOptions,
  name: string,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = required(raw, name, flag);
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(
      `--${flag}: "${value}" must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`,
    );
  }
  return number;
}

export function positive(raw: RawOptions, name: string, flag: string): number {
  const value = required(raw, name, flag);
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new ConfigError(`--${flag}: "${value}" must be a number above 0`);
  return number;
}

export function oneOf<T extends string>(
  raw: RawOptions,
  name: string,
  flag: string,
  allowed: readonly T[],
): T {
  const value = required(raw, name, flag);
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(`--${flag}: "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

export function list(raw: RawOptions, name: string): string[] {
  return (text(raw, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
