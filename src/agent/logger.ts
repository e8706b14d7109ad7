/** Structured logs: one JSON event per line; human-readable when asked or on a terminal. */
import { type Logger, pino } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** pino-pretty is loaded only for human output: JSON logging keeps it out of memory. */
export async function createLogger(level: LogLevel, prettyOutput: boolean): Promise<Logger> {
  const options = {
    level,
    base: { component: 'egress-router-agent' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (prettyOutput) {
    const { default: pretty } = await import('pino-pretty');
    return pino(options, pretty({ sync: true, colorize: process.stdout.isTTY ?? false }));
  }
  return pino(options, pino.destination({ sync: true }));
}
