// The position record of docs/API.md, as the view uses it.

/** One position of a worker, from one record of the stream. */
export interface Position {
  workerId: string;
  team: string;
  lat: number;
  lng: number;
  /** Record time in ms since the epoch (the record's timeStamp). */
  time: number;
  /** Degrees clockwise from north, when the record has one. */
  heading?: number;
  /** m/s, when the record has one. */
  speed?: number;
  /** Metres, when the record has one. */
  accuracy?: number;
}

const idPattern = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Whether s is a valid team or worker id (1-64 chars of [A-Za-z0-9_.:-]). */
export function isValidId(s: string): boolean {
  return idPattern.test(s);
}

/**
 * Parses the data of one stream event. It returns null for anything that is
 * not a usable record, so a bad event never stops the stream.
 * Coordinates may be numbers or, in the legacy form, numeric strings.
 */
export function parsePosition(data: string, now: number): Position | null {
  return positionOf(jsonObject(data), now);
}

/** The position of a record already parsed as JSON (a history page's), as parsePosition. */
export function positionOf(r: Record<string, unknown> | null, now: number): Position | null {
  const loc = r?.location as Record<string, unknown> | undefined;
  if (typeof r?.workerId !== "string" || !isValidId(r.workerId) || typeof loc !== "object" || loc === null) {
    return null;
  }
  const lat = toNumber(loc.latitude);
  const lng = toNumber(loc.longitude);
  if (lat === undefined || lng === undefined || Math.abs(lat) > 90 || Math.abs(lng) > 180) {
    return null;
  }
  const parsed = typeof r.timeStamp === "string" ? Date.parse(r.timeStamp) : NaN;
  return {
    workerId: r.workerId,
    team: typeof r.team === "string" ? r.team : "",
    lat,
    lng,
    time: Number.isFinite(parsed) ? parsed : now,
    heading: inRange(r.heading, 360),
    speed: inRange(r.speed),
    accuracy: inRange(r.accuracy),
  };
}

/** The JSON object in text; null when text is not JSON or not an object. */
export function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** v as a number from 0 to max, else undefined. */
function inRange(v: unknown, max = Infinity): number | undefined {
  const n = toNumber(v);
  return n !== undefined && n >= 0 && n <= max ? n : undefined;
}

function toNumber(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}
