// The position record of docs/API.md as the view draws it: the wire record
// and its checks are @teamtrack/client's (team-tracking-view/client).

import { jsonObject, toPosition, type PositionRecord } from "@teamtrack/client";

export { isValidId, jsonObject } from "@teamtrack/client";

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

/** The position of a record checked by the client; time is now when its timeStamp is not a time. */
export function fromRecord(r: PositionRecord, now: number): Position {
  const parsed = r.timeStamp === "" ? NaN : Date.parse(r.timeStamp);
  return {
    workerId: r.workerId,
    team: r.team,
    lat: r.location.latitude,
    lng: r.location.longitude,
    time: Number.isFinite(parsed) ? parsed : now,
    heading: r.heading,
    speed: r.speed,
    accuracy: r.accuracy,
  };
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
export function positionOf(r: unknown, now: number): Position | null {
  const p = toPosition(r);
  return p === null ? null : fromRecord(p, now);
}
