// JSON requests to the team's tracking API through the gateway (geofences,
// alert events, Web Push subscriptions, messages to workers), with the
// stream's credentials as Authorization: Bearer. A failure is an ApiError
// that says, for the user, what went wrong; a 400 also names the field (the
// message of a 400 starts with the JSON path of the offending member,
// docs/API.md).

import { ApiError as ClientError, isObject, requestJSON } from "@teamtrack/client";
import { AuthError, type StreamCredentials } from "./auth";

export { fieldOf } from "@teamtrack/client";

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
  try {
    const body = await requestJSON(url, {
      method: req.method,
      body: req.body,
      token,
      signal: req.signal,
      timeoutMs: TIMEOUT_MS,
      init: { credentials: "same-origin" },
    });
    if (body === null || isObject(body)) {
      return body;
    }
    throw new ApiError(`${what}: the answer is not a JSON object`, 200);
  } catch (err) {
    if (!(err instanceof ClientError)) {
      throw err; // ours, or the caller's abort
    }
    switch (err.code) {
      case "timeout":
        throw new ApiError(`${what}: no answer in time`, 0);
      case "network":
        throw new ApiError(`${what}: the gateway did not answer`, 0);
      case "invalid_answer":
        throw new ApiError(`${what}: the answer is not JSON`, err.status);
    }
    const message = err.message === `request failed (${err.status})` ? "" : err.message;
    throw new ApiError(failureText(what, err.status, message), err.status, err.field);
  }
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
