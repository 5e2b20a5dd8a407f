// A team's replay from history (docs/API.md, "Replay"): GET
// {base}/{team}/replay?from&to&speed, Server-Sent Events framed like the
// live stream and ending with `event: end` {"positions":N[,"error":"..."]}.
// A replay is not resumed: it is read once, and the caller decides what a
// failure means (replay again from the last fix time, say).

import { tokenSource, type Auth } from "./auth.js";
import { errorOf, rfc3339, seg, type ApiError } from "./http.js";
import { isObject, jsonObject, toPosition, type PositionRecord } from "./records.js";
import { SSEParser } from "./sse.js";

export interface ReplayOptions {
  baseURL: string;
  team: string;
  from: Date | number | string;
  /** Default: now. */
  to?: Date | number | string;
  /** Times real time, above 0 and at most 10,000, or "max". Default 1. */
  speed?: number | "max";
  auth?: Auth;
  /** Positions of one network read. */
  onPositions(positions: PositionRecord[]): void;
  /** The server accepted the replay: positions follow. */
  onOpen?(): void;
  fetch?: typeof fetch;
  init?: RequestInit;
  signal?: AbortSignal;
}

/** How a replay ended. */
export interface ReplayEnd {
  /** The server's count of positions sent; -1 when the stream ended without its end notice. */
  positions: number;
  /** Why the server stopped midway ("" when it did not). */
  error: string;
  /**
   * The server asked the client to reconnect (its reason: shutdown,
   * token_expired): replay again from the last fix time. "" otherwise.
   */
  reconnect: string;
}

/**
 * Reads a replay to its end. It rejects with an ApiError when the server
 * refuses it (400, 401, 403, 501, ...), with the fetch error when the
 * network fails, and with an AbortError when signal aborts.
 */
export async function replay(opts: ReplayOptions): Promise<ReplayEnd> {
  const q = new URLSearchParams({ from: rfc3339(opts.from) });
  if (opts.to !== undefined) q.set("to", rfc3339(opts.to));
  if (opts.speed !== undefined) q.set("speed", String(opts.speed));
  const token = await tokenSource(opts.auth).token();
  const headers: Record<string, string> = { Accept: "text/event-stream" };
  if (token !== null) {
    headers.Authorization = `Bearer ${token}`;
  }
  const url = `${opts.baseURL.replace(/\/+$/, "")}/${seg(opts.team)}/replay?${q.toString()}`;
  const resp = await (opts.fetch ?? globalThis.fetch)(url, { cache: "no-store", ...opts.init, headers, signal: opts.signal });
  if (!resp.ok || resp.body === null) {
    throw (await errorOf(resp)) satisfies ApiError;
  }
  opts.onOpen?.();
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        return { positions: -1, error: "", reconnect: "" };
      }
      const batch: PositionRecord[] = [];
      let end: ReplayEnd | null = null;
      for (const m of parser.push(decoder.decode(value, { stream: true }))) {
        if (m.event === "message" && m.data !== "") {
          const p = toPosition(jsonObject(m.data));
          if (p !== null) batch.push(p);
        } else if (m.event === "end") {
          const v = jsonObject(m.data);
          end = {
            positions: isObject(v) && typeof v.positions === "number" ? v.positions : 0,
            error: isObject(v) && typeof v.error === "string" ? v.error : "",
            reconnect: "",
          };
          break;
        } else if (m.event === "reconnect") {
          const v = jsonObject(m.data);
          end = { positions: -1, error: "", reconnect: (isObject(v) && typeof v.reason === "string" && v.reason) || "reconnect" };
          break;
        }
      }
      if (batch.length > 0) {
        opts.onPositions(batch);
      }
      if (end !== null) {
        return end;
      }
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
}
