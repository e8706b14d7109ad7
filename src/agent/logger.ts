/** Structured logs: one JSON event per line; human-readable when asked or on a terminal. */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON events carry the level as its name (`"level":"info"`), as log collectors (Loki, Elastic,
 * Cloud Logging) expect, instead of pino's numbers (30); `time` stays pino's ISO timestamp.
 * The pretty printer reads pino's numeric levels, so it gets those.
 */
function loggerOptions(level: LogLevel, json: boolean): LoggerOptions {
  return {
    level,
    base: { component: 'egress-router-agent' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(json ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
  };
}

/**
 * pino-pretty is loaded only for human output: JSON logging keeps it out of memory.
 * `destination` defaults to stdout (written synchronously, so nothing is lost on exit).
 */
export async function createLogger(
  level: LogLevel,
  prettyOutput: boolean,
  destination?: NodeJS.WritableStream,
): Promise<Logger> {
  if (prettyOutput) {
    const { default: pretty } = await import('pino-pretty');
    return pino(
      loggerOptions(level, false),
      pretty({
        sync: true,
        colorize: destination === undefined && (process.stdout.isTTY ?? false),
        ...(destination ? { destination } : {}),
      }),
    );
  }
  const stream: DestinationStream = destination ?? pino.destination({ sync: true });
  return pino(loggerOptions(level, true), stream);
}
