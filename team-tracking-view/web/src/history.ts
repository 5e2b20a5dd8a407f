// The team's durable history (docs/API.md, "History"), read through the
// gateway: GET /tracking/{strategy}/{team}/history for a worker's trail and
// the export links, and the URL of GET .../replay (replay.ts plays it).
//
// A trail is read as JSON pages, following each page's `next` cursor until
// the last. Requests carry the token as Authorization: Bearer; the export
// links, which the browser follows by itself, carry it as access_token. A
// service without history answers 501: the message says so.

import { errorMessage, withToken } from "./auth";
import { jsonObject, positionOf } from "./position";

export type ExportFormat = "gpx" | "geojson";

/** Positions per page of a trail (the server's default page). */
const TRAIL_PAGE = 10_000;
/** A trail stops after this many positions (a day at 2 Hz); the message says so. */
export const MAX_TRAIL_POINTS = 200_000;
/** The most positions one export holds: the server's largest page. */
export const EXPORT_LIMIT = 100_000;
/** Each page of a trail must answer within this long. */
const PAGE_TIMEOUT_MS = 30_000;

/** A failed history request, with what to tell the user. */
export class HistoryError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the request itself failed. */
    readonly status: number,
  ) {
    super(message);
    this.name = "HistoryError";
  }
}

/** One position of a trail. */
export interface TrailPoint {
  lat: number;
  lng: number;
  /** Fix time, ms since the epoch. */
  time: number;
}

export interface Trail {
  points: TrailPoint[];
  /** Pages read. */
  pages: number;
  /** Whether positions were left out (more than MAX_TRAIL_POINTS). */
  truncated: boolean;
}

/** An RFC 3339 time (UTC, milliseconds) for a query parameter. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** GET .../history for [from, to), the whole team or one worker. */
export function historyURL(base: string, q: { from: number; to: number; worker?: string; format?: "json" | ExportFormat; limit?: number; cursor?: string; download?: boolean }): string {
  const p = new URLSearchParams();
  if (q.worker) {
    p.set("worker", q.worker);
  }
  p.set("from", rfc3339(q.from));
  p.set("to", rfc3339(q.to));
  if (q.format !== undefined) {
    p.set("format", q.format);
  }
  if (q.limit !== undefined) {
    p.set("limit", String(q.limit));
  }
  if (q.cursor) {
    p.set("cursor", q.cursor);
  }
  if (q.download) {
    p.set("download", "1");
  }
  return `${base}/history?${p.toString()}`;
}

/** The download link of an export: GPX or GeoJSON, at most EXPORT_LIMIT positions, with the token. */
export function exportURL(base: string, format: ExportFormat, from: number, to: number, worker: string, token: string | null): string {
  return withToken(historyURL(base, { from, to, worker, format, limit: EXPORT_LIMIT, download: true }), token);
}

/**
 * Reads a worker's positions in [from, to), page after page. onPage is
 * called after each page with the positions so far.
 */
export async function fetchTrail(
  base: string,
  worker: string,
  from: number,
  to: number,
  token: string | null,
  signal: AbortSignal,
  onPage?: (pages: number, points: number) => void,
): Promise<Trail> {
  const trail: Trail = { points: [], pages: 0, truncated: false };
  let cursor = "";
  for (;;) {
    const page = await getJSON(historyURL(base, { from, to, worker, limit: TRAIL_PAGE, cursor }), token, signal);
    trail.pages++;
    const positions = Array.isArray(page.positions) ? page.positions : [];
    const now = Date.now();
    for (const r of positions) {
      const p = positionOf(typeof r === "object" ? (r as Record<string, unknown>) : null, now);
      if (p !== null) {
        trail.points.push({ lat: p.lat, lng: p.lng, time: p.time });
      }
    }
    onPage?.(trail.pages, trail.points.length);
    cursor = typeof page.next === "string" ? page.next : "";
    if (cursor === "") {
      return trail;
    }
    if (trail.points.length >= MAX_TRAIL_POINTS) {
      trail.truncated = true;
      trail.points.length = MAX_TRAIL_POINTS;
      return trail;
    }
  }
}

/**
 * Why the history of [from, to) cannot be read, or null when it can: one
 * position asked for, to explain a replay stream that broke midway.
 */
export async function historyProblem(base: string, from: number, to: number, token: string | null): Promise<HistoryError | null> {
  const ctl = new AbortController();
  try {
    await getJSON(historyURL(base, { from, to, limit: 1 }), token, ctl.signal);
    return null;
  } catch (err) {
    return err instanceof HistoryError ? err : new HistoryError(String(err), 0);
  }
}

/** GET url as JSON with the token as Bearer; a failure is a HistoryError saying what happened. */
async function getJSON(url: string, token: string | null, signal: AbortSignal): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token !== null) {
    headers.Authorization = `Bearer ${token}`;
  }
  const ctl = new AbortController();
  const abort = (): void => ctl.abort();
  signal.addEventListener("abort", abort);
  const timer = window.setTimeout(abort, PAGE_TIMEOUT_MS);
  let resp: Response;
  try {
    resp = await fetch(url, { headers, cache: "no-store", credentials: "same-origin", signal: ctl.signal });
    if (!resp.ok) {
      throw new HistoryError(failureText(resp.status, await errorMessage(resp)), resp.status);
    }
    const body = jsonObject(await resp.text());
    if (body === null) {
      throw new HistoryError("History: the answer is not JSON", resp.status);
    }
    return body;
  } catch (err) {
    if (err instanceof HistoryError) {
      throw err;
    }
    if (signal.aborted) {
      throw err; // the caller gave up: not a failure to report
    }
    throw new HistoryError(ctl.signal.aborted ? "History: no answer in time" : "History: the gateway did not answer", 0);
  } finally {
    window.clearTimeout(timer);
    signal.removeEventListener("abort", abort);
  }
}

/** What a failed history (or replay) request means, for the user. */
export function failureText(status: number, message: string): string {
  const detail = message ? `: ${message}` : "";
  switch (status) {
    case 501:
      return "History is not available: this tracking service keeps no history (HISTORY_DSN is unset)";
    case 503:
      return `History is unavailable for now; try again later${detail}`;
    case 401:
      return `Not signed in: the history was refused${detail}`;
    case 403:
      return `Access denied to this team's history${detail}`;
    case 400:
      return `Bad request${detail}`;
    default:
      return `History request failed (${status})${detail}`;
  }
}
