/** What a command may touch of the outside world; tests pass their own. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: () => Promise<string>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Failures that are not the config's fault (unreadable file, kernel refused): exit 1. */
export class RuntimeFailure extends Error {
  override name = 'RuntimeFailure';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID = 2;
