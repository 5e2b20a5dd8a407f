// The records of docs/API.md: positions, worker statuses, message
// deliveries and alerts, as they travel on the wire, with the checks a
// client makes before trusting one.

/** A position record (docs/API.md, "Position record"), numbers normalised. */
export interface PositionRecord {
  id: string;
  workerId: string;
  team: string;
  location: { latitude: number; longitude: number };
  /** RFC 3339 fix time. */
  timeStamp: string;
  /** Metres, >= 0. */
  accuracy?: number;
  /** m/s, >= 0. */
  speed?: number;
  /** Degrees clockwise from north, [0, 360]. */
  heading?: number;
  /** Percent, [0, 100]. */
  battery?: number;
  /** The fix was more than 30 s older than its receipt (a phone's buffered upload). */
  late?: boolean;
}

/** What a worker sends: a position record whose id and timeStamp may be left out (the client fills them). */
export interface PositionInput {
  workerId: string;
  team: string;
  latitude: number;
  longitude: number;
  /** Default: a random id (the server de-duplicates on it). */
  id?: string;
  /** Default: now. A Date, ms since the epoch or an RFC 3339 string. */
  time?: Date | number | string;
  accuracy?: number;
  speed?: number;
  heading?: number;
  battery?: number;
}

export type WorkerStatus = "online" | "idle" | "offline";

/** `event: status`: a worker's presence. */
export interface StatusRecord {
  workerId: string;
  team: string;
  status: WorkerStatus;
  /** For offline: disconnected, silent, token_expired, rate_limited, replaced. */
  reason?: string;
  /** RFC 3339: when it began. */
  since: string;
}

export type DeliveryState = "sent" | "delivered" | "acked" | "read" | "expired";

/** `event: delivery`: a message's delivery to one worker changed state. */
export interface DeliveryRecord {
  messageId: string;
  workerId: string;
  team: string;
  state: DeliveryState;
  /** RFC 3339. */
  at: string;
}

/**
 * `event: alert`: a geofence or proximity alert. Its members depend on its
 * kind (docs/API.md, "Alert events and webhooks"): the common ones are
 * typed, the record is passed on whole.
 */
export interface AlertRecord {
  id?: string;
  kind?: string;
  team?: string;
  workerId?: string;
  at?: string;
  [member: string]: unknown;
}

const idPattern = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Whether s is a valid team or worker id (1-64 characters of [A-Za-z0-9_.:-]). */
export function isValidId(s: string): boolean {
  return idPattern.test(s);
}

/** The JSON object in text; null when text is not JSON or not an object. */
export function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The position record in v, normalised (legacy numeric strings become
 * numbers, optional members out of range are left out), or null when v is
 * not a usable record: a bad record never stops a stream.
 */
export function toPosition(v: unknown): PositionRecord | null {
  if (!isObject(v)) {
    return null;
  }
  const loc = v.location;
  if (typeof v.workerId !== "string" || !isValidId(v.workerId) || !isObject(loc)) {
    return null;
  }
  const latitude = toNumber(loc.latitude);
  const longitude = toNumber(loc.longitude);
  if (latitude === undefined || longitude === undefined || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
    return null;
  }
  const p: PositionRecord = {
    id: typeof v.id === "string" ? v.id : "",
    workerId: v.workerId,
    team: typeof v.team === "string" ? v.team : "",
    location: { latitude, longitude },
    timeStamp: typeof v.timeStamp === "string" ? v.timeStamp : "",
  };
  const accuracy = inRange(v.accuracy);
  const speed = inRange(v.speed);
  const heading = inRange(v.heading, 360);
  const battery = inRange(v.battery, 100);
  if (accuracy !== undefined) p.accuracy = accuracy;
  if (speed !== undefined) p.speed = speed;
  if (heading !== undefined) p.heading = heading;
  if (battery !== undefined) p.battery = battery;
  if (v.late === true) p.late = true;
  return p;
}

/** The status record in v, or null. */
export function toStatus(v: unknown): StatusRecord | null {
  if (!isObject(v) || typeof v.workerId !== "string" || !isValidId(v.workerId)) {
    return null;
  }
  const status = v.status;
  if (status !== "online" && status !== "idle" && status !== "offline") {
    return null;
  }
  const r: StatusRecord = {
    workerId: v.workerId,
    team: typeof v.team === "string" ? v.team : "",
    status,
    since: typeof v.since === "string" ? v.since : "",
  };
  if (typeof v.reason === "string" && v.reason !== "") {
    r.reason = v.reason;
  }
  return r;
}

const deliveryStates: readonly string[] = ["sent", "delivered", "acked", "read", "expired"];

/** The delivery record in v, or null. */
export function toDelivery(v: unknown): DeliveryRecord | null {
  if (!isObject(v) || typeof v.messageId !== "string" || v.messageId === "" || typeof v.workerId !== "string") {
    return null;
  }
  if (typeof v.state !== "string" || !deliveryStates.includes(v.state)) {
    return null;
  }
  return {
    messageId: v.messageId,
    workerId: v.workerId,
    team: typeof v.team === "string" ? v.team : "",
    state: v.state as DeliveryState,
    at: typeof v.at === "string" ? v.at : "",
  };
}

/** The alert record in v, or null when v is not an object. */
export function toAlert(v: unknown): AlertRecord | null {
  return isObject(v) ? (v as AlertRecord) : null;
}

/** The canonical record for a worker's position input, with an id and a time stamp. */
export function positionRecord(p: PositionInput): Record<string, unknown> {
  if (!isValidId(p.workerId) || !isValidId(p.team)) {
    throw new Error(`position: workerId and team must be 1-64 characters of [A-Za-z0-9_.:-] (got ${JSON.stringify(p.workerId)}, ${JSON.stringify(p.team)})`);
  }
  if (!Number.isFinite(p.latitude) || Math.abs(p.latitude) > 90 || !Number.isFinite(p.longitude) || Math.abs(p.longitude) > 180) {
    throw new Error(`position: latitude must be in [-90, 90] and longitude in [-180, 180] (got ${p.latitude}, ${p.longitude})`);
  }
  const t = p.time === undefined ? new Date() : p.time instanceof Date ? p.time : new Date(p.time);
  if (Number.isNaN(t.getTime())) {
    throw new Error(`position: time ${String(p.time)} is not a time`);
  }
  const r: Record<string, unknown> = {
    id: p.id ?? randomId(),
    workerId: p.workerId,
    team: p.team,
    location: { latitude: p.latitude, longitude: p.longitude },
    timeStamp: t.toISOString(),
  };
  for (const k of ["accuracy", "speed", "heading", "battery"] as const) {
    if (p[k] !== undefined) {
      r[k] = p[k];
    }
  }
  return r;
}

/** A random id: 32 hex digits. */
export function randomId(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
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
