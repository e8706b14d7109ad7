/** Small statistics for repeated measurements: medians, not means (the machines are noisy). */

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Linear-interpolated 90th percentile. */
  readonly p90: number;
  readonly samples: readonly number[];
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] ?? Number.NaN;
  const high = sorted[upper] ?? Number.NaN;
  return low + (high - low) * (position - lower);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function summarize(samples: readonly number[]): Summary {
  const rounded = samples.map((value) => round(value, 3));
  return {
    n: samples.length,
    median: round(median(samples), 3),
    min: round(Math.min(...samples), 3),
    max: round(Math.max(...samples), 3),
    p90: round(quantile(samples, 0.9), 3),
    samples: rounded,
  };
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** a / b, NaN when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return Number.NaN;
  }
  return round(a / b, 3);
}

/** 1234567 -> "1,234,567". */
export function thousands(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
