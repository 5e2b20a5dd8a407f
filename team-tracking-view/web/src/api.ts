// JSON requests to the team's tracking API through the gateway (geofences,
// alert events, Web Push subscriptions, messages to workers), with the
// stream's credentials as Authorization: Bearer. A failure is an ApiError
// that says, for the user, what went wrong; a 400 also names the field (the
// message of a 400 starts with the JSON path of the offending member,
// docs/API.md).

import { AuthError, errorMessage, type StreamCredentials } from "./auth";
import { jsonObject } from "./position";

/** Each request must answer within this long. */
const TIMEOUT_MS = 15_000;

/** A failed API request, with what to tell the user. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the request itself failed (or there is no token). */
    readonly status: number,
    /** For a 400: the member the server named (`name`, `dwell`, `geometry.radius`, ...); "" otherwise. */
    readonly field = "",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ApiRequest {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Sends a request with the credentials' token and returns the answer's JSON
 * object (null for a 204 or an empty body). what names the thing for the
 * messages ("Geofences", "Alerts", ...).
 */
export async function apiJSON(
  url: string,
  credentials: StreamCredentials,
  what: string,
  req: ApiRequest = {},
): Promise<Record<string, unknown> | null> {
  let token: string | null;
  try {
    token = await credentials.token();
  } catch (err) {
    throw new ApiError(err instanceof AuthError ? err.message : `${what}: sign-in failed`, 0);
  }
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token !== null) {
    headers.Authorization = `Bearer ${token}`;
  }
  if (req.body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  const ctl = new AbortController();
  const abort = (): void => ctl.abort();
  req.signal?.addEventListener("abort", abort);
  const timer = window.setTimeout(abort, TIMEOUT_MS);
  try {
    const resp = await fetch(url, {
      method: req.method ?? "GET",
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      cache: "no-store",
      credentials: "same-origin",
      signal: ctl.signal,
    });
    if (!resp.ok) {
      const message = await errorMessage(resp);
      throw new ApiError(failureText(what, resp.status, message), resp.status, resp.status === 400 ? fieldOf(message) : "");
    }
    const text = await resp.text();
    if (text.trim() === "") {
      return null;
    }
    const body = jsonObject(text);
    if (body === null) {
      throw new ApiError(`${what}: the answer is not JSON`, resp.status);
    }
    return body;
  } catch (err) {
    if (err instanceof ApiError || req.signal?.aborted) {
      throw err;
    }
    throw new ApiError(ctl.signal.aborted ? `${what}: no answer in time` : `${what}: the gateway did not answer`, 0);
  } finally {
    window.clearTimeout(timer);
    req.signal?.removeEventListener("abort", abort);
  }
}

/** The member a 400's message starts with: "dwell: must be ..." is dwell; "geometry.coordinates[0][3]: ..." is geometry.coordinates[0][3]. */
export function fieldOf(message: string): string {
  const m = /^([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*|\[\d+\])*): /.exec(message);
  return m === null ? "" : m[1];
}

function failureText(what: string, status: number, message: string): string {
  const detail = message ? `: ${message}` : "";
  switch (status) {
    case 501:
      return `${what} not available on this service${detail}`;
    case 503:
      return `${what} unavailable for now; try again later${detail}`;
    case 401:
      return `Not signed in${detail}`;
    case 403:
      return `Access denied${detail}`;
    case 400:
      return message || `${what}: bad request`;
    case 404:
      return `${what}: not found${detail}`;
    default:
      return `${what}: request failed (${status})${detail}`;
  }
}
