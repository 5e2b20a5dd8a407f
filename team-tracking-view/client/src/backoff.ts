// Reconnection pacing, as tracking-core/client's Backoff: the first wait
// drawn from [0, min) (a fleet of clients that lost the same replica does
// not come back at once), then min doubling up to max, each wait drawn from
// its upper half.

export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  minMs?: number;
  /** Largest delay, ms. Default 15,000. */
  maxMs?: number;
}

export class Backoff {
  readonly minMs: number;
  readonly maxMs: number;

  constructor(opts: BackoffOptions = {}) {
    this.minMs = positive(opts.minMs, 500, "minMs");
    this.maxMs = Math.max(this.minMs, positive(opts.maxMs, 15_000, "maxMs"));
  }

  /** The wait before the next attempt after failures failed attempts in a row (0: the last connection worked). */
  delay(failures: number): number {
    if (failures <= 0) {
      return Math.random() * this.minMs;
    }
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(failures - 1, 30));
    return base * (0.5 + Math.random() * 0.5);
  }
}

function positive(v: number | undefined, def: number, name: string): number {
  if (v === undefined) {
    return def;
  }
  if (!Number.isFinite(v) || v <= 0) {
    throw new RangeError(`backoff: ${name} must be a positive number of ms, got ${v}`);
  }
  return v;
}
