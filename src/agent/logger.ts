/** Structured logs: one JSON event per line; human-readable when asked or on a terminal. */
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, prettyOutput: boolean): Logger {
  const options = {
    level,
    base: { component: 'egress-router-agent' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (prettyOutput) return pino(options, pretty({ sync: true, colorize: process.stdout.isTTY ?? false }));
  return pino(options, pino.destination({ sync: true }));
}
