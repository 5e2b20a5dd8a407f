// JSON requests to the tracking API (docs/API.md, docs/openapi.yaml): the
// token as Authorization: Bearer, errors as ApiError with the server's code
// and message, and a 400's offending member (a 400's message starts with
// its JSON path).

import { tokenSource, type Auth } from "./auth.js";
import { isObject, jsonObject, toPosition, toStatus, type PositionRecord, type StatusRecord } from "./records.js";

/** A failed request. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the request itself failed (network, timeout, no token). */
    readonly status: number,
    /** The server's error code (docs/API.md: invalid_field, unauthorized, ...), or "network", "timeout", "auth", "invalid_answer". */
    readonly code: string,
    /** For a 400: the member the server named (`ttl`, `geometry.radius`, ...); "" otherwise. */
    readonly field = "",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  /** Sent as JSON. */
  body?: unknown;
  /** The token (Authorization: Bearer); null: none. */
  token?: string | null;
  signal?: AbortSignal;
  /** Default 15,000 ms. */
  timeoutMs?: number;
  /** Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** More fetch options (credentials, cache, ...). Default cache "no-store". */
  init?: RequestInit;
}

/**
 * Sends a request and returns the answer's JSON (null for a 204 or an
 * empty body). A failure is an ApiError: the server's code and message for
 * an error answer, code "network" or "timeout" when there is none.
 */
export async function requestJSON(url: string, opts: RequestOptions = {}): Promise<unknown> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.token) {
    headers.Authorization = `Bearer ${opts.token}`;
  }
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  const ctl = new AbortController();
  const abort = (): void => ctl.abort();
  opts.signal?.addEventListener("abort", abort);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, opts.timeoutMs ?? 15_000);
  const doFetch = opts.fetch ?? globalThis.fetch;
  try {
    let resp: Response;
    try {
      resp = await doFetch(url, {
        cache: "no-store",
        ...opts.init,
        method: opts.method ?? "GET",
        headers: { ...(opts.init?.headers as Record<string, string> | undefined), ...headers },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: ctl.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) {
        throw err;
      }
      throw timedOut ? new ApiError("no answer in time", 0, "timeout") : new ApiError(`request failed: ${String(err)}`, 0, "network");
    }
    if (!resp.ok) {
      throw await errorOf(resp);
    }
    const text = await resp.text();
    if (text.trim() === "") {
      return null;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ApiError("the answer is not JSON", resp.status, "invalid_answer");
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", abort);
  }
}

/** The ApiError of an error answer ({"code":"...","message":"..."}, or a short text). */
export async function errorOf(resp: Response): Promise<ApiError> {
  const { code, message } = await errorBody(resp);
  return new ApiError(message || `request failed (${resp.status})`, resp.status, code || `http_${resp.status}`, resp.status === 400 ? fieldOf(message) : "");
}

/** The message of an error answer ({"code":"...","message":"..."}), else "" (a page is not a message). */
export async function errorMessage(resp: Response): Promise<string> {
  return (await errorBody(resp)).message;
}

async function errorBody(resp: Response): Promise<{ code: string; message: string }> {
  let text: string;
  try {
    text = await resp.text();
  } catch {
    return { code: "", message: "" };
  }
  const v = jsonObject(text);
  const code = v !== null && typeof v.code === "string" ? v.code : "";
  const message = v === null ? text.trim() : [v.message, v.error].find((m) => typeof m === "string");
  if (typeof message !== "string" || (v === null && message.includes("<"))) {
    return { code, message: "" };
  }
  return { code, message: message.length > 200 ? `${message.slice(0, 200)}…` : message };
}

/** The member a 400's message starts with: "dwell: must be ..." is dwell; "geometry.coordinates[0][3]: ..." is geometry.coordinates[0][3]. */
export function fieldOf(message: string): string {
  const m = /^([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*|\[\d+\])*): /.exec(message);
  return m === null ? "" : m[1];
}

export interface ApiOptions {
  /** The tracking API: a replica's ".../tracking", or a gateway's ".../tracking/redis" (relative in a page). */
  baseURL: string;
  auth?: Auth;
  fetch?: typeof fetch;
  timeoutMs?: number;
  init?: RequestInit;
}

export interface HistoryQuery {
  from: Date | number | string;
  to?: Date | number | string;
  worker?: string;
  /** 1 to 100,000 per page (server default 10,000). */
  limit?: number;
  cursor?: string;
}

export interface HistoryPage {
  positions: PositionRecord[];
  /** The cursor of the next page; "" on the last. */
  next: string;
}

export interface MessageRequest {
  /** Worker ids, or "all". */
  to: string[] | "all";
  /** Any JSON object up to 16 KiB, passed to the workers as it is. */
  body: Record<string, unknown>;
  /** Go duration, 1s to 168h (default 1h). */
  ttl?: string;
  /** Makes a retry idempotent. */
  id?: string;
}

export interface MessageSent {
  id: string;
  /** Recipients connected now. */
  online: number;
  /** Recipients that get it when they connect. */
  queued: number;
}

/** The REST routes a manager uses, under one base URL. */
export class TrackingApi {
  private readonly base: string;
  private readonly auth;

  constructor(private readonly opts: ApiOptions) {
    this.base = opts.baseURL.replace(/\/+$/, "");
    this.auth = tokenSource(opts.auth);
  }

  /** GET {base}{path} (or another method), with the token. */
  async request(path: string, req: { method?: RequestOptions["method"]; body?: unknown; signal?: AbortSignal } = {}): Promise<unknown> {
    let token: string | null;
    try {
      token = await this.auth.token();
    } catch (err) {
      throw new ApiError(err instanceof Error ? err.message : String(err), 0, "auth");
    }
    return requestJSON(this.base + path, { ...req, token, fetch: this.opts.fetch, timeoutMs: this.opts.timeoutMs, init: this.opts.init });
  }

  /** The last known position of each worker of the team. */
  async positions(team: string): Promise<PositionRecord[]> {
    return list(await this.request(`/${seg(team)}/positions`), toPosition);
  }

  /** Each worker's current status. */
  async presence(team: string): Promise<StatusRecord[]> {
    return list(await this.request(`/${seg(team)}/presence`), toStatus);
  }

  /** One page of the team's (or a worker's) history, oldest first. */
  async history(team: string, q: HistoryQuery): Promise<HistoryPage> {
    const p = new URLSearchParams({ from: rfc3339(q.from) });
    if (q.to !== undefined) p.set("to", rfc3339(q.to));
    if (q.worker) p.set("worker", q.worker);
    if (q.limit !== undefined) p.set("limit", String(q.limit));
    if (q.cursor) p.set("cursor", q.cursor);
    p.set("format", "json");
    const v = await this.request(`/${seg(team)}/history?${p.toString()}`);
    if (!isObject(v)) {
      throw new ApiError("history: the answer is not an object", 200, "invalid_answer");
    }
    return { positions: list(v.positions, toPosition), next: typeof v.next === "string" ? v.next : "" };
  }

  /** Sends a message to workers of the team (201). */
  async sendMessage(team: string, m: MessageRequest): Promise<MessageSent> {
    const v = await this.request(`/${seg(team)}/messages`, { method: "POST", body: m });
    if (!isObject(v) || typeof v.id !== "string") {
      throw new ApiError("messages: the answer has no id", 201, "invalid_answer");
    }
    return { id: v.id, online: Number(v.online) || 0, queued: Number(v.queued) || 0 };
  }

  /** A message and its recipients' states (docs/API.md: GET .../messages/{id}). */
  async message(team: string, id: string): Promise<Record<string, unknown>> {
    const v = await this.request(`/${seg(team)}/messages/${encodeURIComponent(id)}`);
    if (!isObject(v)) {
      throw new ApiError("messages: the answer is not an object", 200, "invalid_answer");
    }
    return v;
  }
}

function list<T>(v: unknown, conv: (x: unknown) => T | null): T[] {
  if (!Array.isArray(v)) {
    return [];
  }
  const out: T[] = [];
  for (const x of v) {
    const r = conv(x);
    if (r !== null) {
      out.push(r);
    }
  }
  return out;
}

export function seg(s: string): string {
  return encodeURIComponent(s);
}

/** An RFC 3339 time (UTC, ms) for a query parameter. */
export function rfc3339(t: Date | number | string): string {
  if (typeof t === "string") {
    return t;
  }
  return (t instanceof Date ? t : new Date(t)).toISOString();
}
