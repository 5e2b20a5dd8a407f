// The team as the view knows it: the last position of each worker, a short
// trail, each worker's presence status from the stream, and the counters
// the panel shows. Records are applied here as they arrive (cheap: from the
// stream's Web Worker each worker's newest per batch, or every one while
// trails are drawn); the map and the panel read the state at their own pace.
//
// A worker's status is its presence status from the stream (`event:
// status`, docs/API.md: online, idle or offline, with a reason) when the
// stream has given one; until then (a service that sends none, or a
// replayed team) it is judged by the age of its last position.

import { workerColour } from "./colour";
import type { StatusRecord } from "@teamtrack/client";
import { isValidId, type Position } from "./position";

export type Status = "online" | "idle" | "offline";

/** A worker's presence status record (`event: status`). */
export interface Presence {
  status: Status;
  /** disconnected, silent, token_expired, rate_limited or replaced; "" for none. */
  reason: string;
  /** When the status began, ms since the epoch (NaN when unknown). */
  since: number;
}

/** Without a presence status, a worker is idle after this long without a position. */
const IDLE_AFTER_MS = 5_000;
/** Without a presence status, a worker is offline after this long without a position. */
const OFFLINE_AFTER_MS = 60_000;
/** Positions kept per worker for its trail. */
const TRAIL_LENGTH = 40;

export interface Worker {
  readonly id: string;
  /** Its marker's colour (changes when other teams are shown beside it: colour families). */
  colour: string;
  lat: number;
  lng: number;
  /** Degrees clockwise from north; null while unknown. */
  heading: number | null;
  speed?: number;
  accuracy?: number;
  /** Time of the last record, ms since the epoch (record clock). */
  time: number;
  /**
   * When the worker was last seen, on the browser clock: the record time,
   * but never later than the moment the record arrived (a record stamped in
   * the future by a skewed clock must not look fresher than it is).
   */
  lastSeen: number;
  /** Browser time of the last applied record. */
  receivedAt: number;
  /** Observed ms between this worker's records; the map animates over it. */
  interval: number;
  /** Recent positions, oldest first, [lat, lng]. */
  readonly trail: [number, number][];
}

export class TeamState {
  readonly workers = new Map<string, Worker>();
  /** Presence statuses from the stream, by worker (also of workers with no position yet). */
  readonly presence = new Map<string, Presence>();
  private readonly dirty = new Set<Worker>();
  private readonly rate = new RateMeter();
  /** Position records received, applied or not (those the stream conflated included). */
  received = 0;
  /** Position records handed to apply (changing the worker or not). */
  applied = 0;

  constructor(readonly team: string) {}

  /**
   * Applies one position. Records of another team and records older than the
   * worker's last one (a repeated snapshot after a reconnect, out-of-order
   * delivery) change nothing. Returns whether the worker changed.
   */
  apply(p: Position, now: number): boolean {
    this.received++;
    this.applied++;
    this.rate.add(now);
    if (p.team !== "" && p.team !== this.team) {
      return false;
    }
    let w = this.workers.get(p.workerId);
    if (w === undefined) {
      // The fields every record sets are filled in below.
      w = { id: p.workerId, colour: this.colourOf(p.workerId), heading: p.heading ?? null, interval: 0, trail: [],
        lat: 0, lng: 0, time: 0, lastSeen: 0, receivedAt: 0 };
      this.workers.set(w.id, w);
    } else if (p.time < w.time || (p.time === w.time && p.lat === w.lat && p.lng === w.lng)) {
      return false;
    } else {
      w.heading = p.heading ?? bearing(w.lat, w.lng, p.lat, p.lng) ?? w.heading;
      // Smooth the interval so one late record does not stall the animation.
      const gap = now - w.receivedAt;
      w.interval = w.interval === 0 ? gap : 0.7 * w.interval + 0.3 * gap;
    }
    w.lat = p.lat;
    w.lng = p.lng;
    w.speed = p.speed;
    w.accuracy = p.accuracy;
    w.time = p.time;
    w.lastSeen = Math.min(p.time, now);
    w.receivedAt = now;
    w.trail.push([p.lat, p.lng]);
    if (w.trail.length > TRAIL_LENGTH) {
      w.trail.splice(0, w.trail.length - TRAIL_LENGTH);
    }
    this.dirty.add(w);
    return true;
  }

  /**
   * Applies a presence status record; returns whether it changed anything.
   * A record of another team, or not a status, is ignored.
   */
  applyStatus(r: StatusRecord): boolean {
    if (!isValidId(r.workerId)) {
      return false;
    }
    if (r.team !== "" && r.team !== this.team) {
      return false;
    }
    const status = r.status;
    const since = r.since === "" ? NaN : Date.parse(r.since);
    const reason = r.reason ?? "";
    // The stream carries each worker's statuses in order (the server drops
    // those of a superseded session): the last one holds.
    const old = this.presence.get(r.workerId);
    if (old !== undefined && old.status === status && old.reason === reason && old.since === since) {
      return false;
    }
    this.presence.set(r.workerId, { status, reason, since });
    return true;
  }

  /**
   * Counts position records received but not applied (the stream kept a
   * newer one of the same worker): they count in received and the rate.
   */
  count(n: number, now: number): void {
    if (n > 0) {
      this.received += n;
      this.rate.add(now, n);
    }
  }

  /** How workers are coloured: by default each by its id over the whole hue wheel. */
  private colourOf: (id: string) => string = workerColour;

  /** Colours the workers anew (a colour family, or back to their own colours). */
  setColours(colourOf: (id: string) => string): void {
    this.colourOf = colourOf;
    for (const w of this.workers.values()) {
      const c = colourOf(w.id);
      if (c !== w.colour) {
        w.colour = c;
        this.dirty.add(w);
      }
    }
  }

  /** Marks every worker changed: the map draws them all again (the team is shown anew). */
  markAllDirty(): void {
    for (const w of this.workers.values()) {
      this.dirty.add(w);
    }
  }

  /** The workers changed since the last call. */
  takeDirty(): Worker[] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  /** Received positions per second over the last few seconds. */
  positionsPerSecond(now: number): number {
    return this.rate.perSecond(now);
  }
}

/** The worker's status: its presence status if the stream gave one, else by the age of its last position. */
export function statusOf(w: Worker, now: number, presence?: Presence): Status {
  if (presence !== undefined) {
    return presence.status;
  }
  const age = now - w.lastSeen;
  if (age >= OFFLINE_AFTER_MS) {
    return "offline";
  }
  return age >= IDLE_AFTER_MS ? "idle" : "online";
}

const REASONS: Record<string, string> = {
  disconnected: "disconnected",
  silent: "silent",
  token_expired: "token expired",
  rate_limited: "rate limited",
  replaced: "replaced by a newer connection",
};

/** "idle", "offline (disconnected) since 13:21:04": the status in words, for tooltips. */
export function describeStatus(status: Status, presence: Presence | undefined): string {
  if (presence === undefined) {
    return `${status} (by the age of its last position)`;
  }
  let text: string = status;
  if (presence.reason !== "") {
    text += ` (${REASONS[presence.reason] ?? presence.reason})`;
  }
  if (Number.isFinite(presence.since)) {
    text += ` since ${new Date(presence.since).toLocaleTimeString()}`;
  }
  return text;
}

/** "3s", "4m", "2h", "5d": how long ago, compactly. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : s < 86400 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
}

/**
 * Bearing in degrees clockwise from north from one point to another, or null
 * when they are too close (under about a metre) for a meaningful direction.
 */
function bearing(lat1: number, lng1: number, lat2: number, lng2: number): number | null {
  const rad = Math.PI / 180;
  const dLat = lat2 - lat1;
  const dLng = (lng2 - lng1) * Math.cos(((lat1 + lat2) / 2) * rad);
  if (Math.hypot(dLat, dLng) < 1e-5) {
    return null;
  }
  const y = Math.sin((lng2 - lng1) * rad) * Math.cos(lat2 * rad);
  const x = Math.cos(lat1 * rad) * Math.sin(lat2 * rad) - Math.sin(lat1 * rad) * Math.cos(lat2 * rad) * Math.cos((lng2 - lng1) * rad);
  return ((Math.atan2(y, x) / rad) + 360) % 360;
}

/** Counts events in one-second buckets and reports the recent rate. */
class RateMeter {
  private static readonly windowSeconds = 5;
  private readonly counts = new Float64Array(RateMeter.windowSeconds + 1);
  private readonly seconds = new Float64Array(RateMeter.windowSeconds + 1).fill(-1);
  private first = -1;

  add(now: number, n = 1): void {
    if (this.first < 0) {
      this.first = now;
    }
    const s = Math.floor(now / 1000);
    const i = s % this.counts.length;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** Events per second over the last full seconds plus the current one. */
  perSecond(now: number): number {
    const s = Math.floor(now / 1000);
    let total = 0;
    for (let k = 0; k <= RateMeter.windowSeconds; k++) {
      const i = (s - k) % this.counts.length;
      if (this.seconds[i] === s - k) {
        total += this.counts[i];
      }
    }
    // Over the window, or since the first event if that is more recent (but
    // at least a second, so the first burst does not read as a huge rate).
    const window = RateMeter.windowSeconds + (now % 1000) / 1000;
    const since = this.first < 0 ? 0 : (now - this.first) / 1000;
    return total / Math.max(1, Math.min(window, since));
  }
}
