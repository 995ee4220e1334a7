// Logs through winston, JSON by default. A redacting format masks any field whose name speaks of
// a credential and any string shaped like a Vault token or a JWT, working on a copy so that the
// caller's objects are never changed.

import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'text';

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

const sensitiveKey =
  /^(?:.*(?:token|password|passwd|jwt|credential|authorization|private_?key|secret_?id|secret-id|role_?id|role-id).*|secret|secrets|value|values|data)$/i;
// Vault service and batch tokens (hvs., hvb., s., b.), OpenBao's (sbr., ...), and JWTs.
const tokenShape =
  /\b(?:hv[sb]|s|b|sbr|[a-z]{3})\.[A-Za-z0-9_-]{20,}\b|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g;
export const redacted = '[REDACTED]';

/** A deep copy of `value` with credentials masked. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(tokenShape, redacted);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] =
      sensitiveKey.test(key) &&
      item !== undefined &&
      item !== null &&
      typeof item !== 'boolean' &&
      typeof item !== 'number'
        ? redacted
        : redact(item, depth + 1);
  }
  return copy;
}

const redactFormat = winston.format((info) => {
  const masked = redact({ ...info }) as winston.Logform.TransformableInfo;
  // winston keeps level and message under symbols too; carry them over.
  for (const symbol of Object.getOwnPropertySymbols(info))
    (masked as unknown as Record<symbol, unknown>)[symbol] = (info as unknown as Record<symbol, unknown>)[
      symbol
    ];
  return masked;
});

export function createLogger(options: {
  level: LogLevel;
  format: LogFormat;
  stream?: NodeJS.WritableStream;
}): Logger {
  const format =
    options.format === 'json'
      ? winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          redactFormat(),
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const fields = Object.entries(rest)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ');
            return `${String(timestamp)} ${level} ${String(message)}${fields ? ` ${fields}` : ''}`;
          }),
        );
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] });
  const logger = winston.createLogger({ level: options.level, format, transports: [transport] });
  return {
    error: (message, fields) => logger.error(message, fields),
    warn: (message, fields) => logger.warn(message, fields),
    info: (message, fields) => logger.info(message, fields),
    debug: (message, fields) => logger.debug(message, fields),
  };
}
