// A manager's view of one team: the team's stream (docs/API.md, "Manager:
// watching a team") over Server-Sent Events or WebSocket, reconnecting with
// backoff and resuming after the last stream id received, so each live
// event is seen once, in order.
//
// Server-Sent Events are read with fetch and parsed here (sse.ts), not with
// EventSource: fetch is in browsers, Web Workers and Node 18+ (Node 20 has
// no EventSource), it can send the token as Authorization: Bearer rather
// than in the URL, a refused connection shows its status (401, 403) instead
// of a bare error, and a network read of many records reaches the caller as
// one batch instead of one DOM event per record (the cost that kept a tab
// of 2,000 workers at 10 positions/s from drawing smoothly).

import { defaultRefusal, tokenSource, withToken, type Auth, type Refusal, type TokenSource } from "./auth.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { errorMessage, seg } from "./http.js";
import {
  isObject,
  jsonObject,
  toAlert,
  toDelivery,
  toPosition,
  toStatus,
  type AlertRecord,
  type DeliveryRecord,
  type PositionRecord,
  type StatusRecord,
} from "./records.js";
import { SSEParser, type SSEMessage } from "./sse.js";

/** One event of a team's stream. id is its stream id, when it has one (the snapshot's have none). */
export type StreamEvent =
  | { type: "position"; id?: string; position: PositionRecord }
  | { type: "status"; id?: string; status: StatusRecord }
  | { type: "alert"; id?: string; alert: AlertRecord }
  | { type: "delivery"; id?: string; delivery: DeliveryRecord }
  /** The stream's position after the snapshot: live events follow. */
  | { type: "mark"; id: string }
  /** The server could not resume after the id given (reason not_retained): a snapshot follows, events meanwhile were missed. */
  | { type: "reset"; reason: string };

/** The events of one delivery. */
export interface StreamBatch {
  events: StreamEvent[];
  /** Position records received for this batch, before conflation (bad records included). */
  received: number;
}

export type ConnectionState =
  /** Opening a connection. */
  | "connecting"
  /** Connected; events flow. */
  | "open"
  /** Disconnected; a reconnect is scheduled (retryAt). */
  | "waiting"
  /** stop() was called (or not started). */
  | "stopped"
  /** The server refused the token, and TokenSource.refused said not to retry. */
  | "unauthorized";

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts in a row (0 when the last connection worked). */
  failures: number;
  /** For "waiting": when the next attempt starts (Date.now() clock). */
  retryAt?: number;
  /** Why the last connection ended: "error", "closed", "auth", "http 503", or the server's reconnect reason (lifetime, token_expired, shutdown, slow, renew). */
  reason?: string;
  /** For authentication failures: what to tell the user. */
  message?: string;
}

export type Transport = "sse" | "websocket";

export interface WatchOptions {
  /** The tracking API: a replica's ".../tracking", or a gateway's ".../tracking/redis" (relative in a page). */
  baseURL: string;
  team: string;
  /** Default "sse". */
  transport?: Transport;
  /** Resume after this stream id (from an earlier watch): no snapshot. Default: the snapshot. */
  after?: string;
  /** The token: a string, or a TokenSource for tokens that change. */
  auth?: Auth;
  /** How SSE carries the token: Authorization header (default) or the access_token parameter. WebSocket always uses the parameter. */
  tokenIn?: "header" | "query";
  backoff?: BackoffOptions;
  /** A connection open this long counts as healthy even without events (resets the backoff). Default 10,000 ms. */
  healthyAfterMs?: number;
  /** Called with each event, in order (when onBatch is not given). */
  onEvent?(ev: StreamEvent): void;
  /** Called with the events of each network read, or of each batchMs. */
  onBatch?(batch: StreamBatch): void;
  /** With onBatch: gather events for this long before delivering them (0: each network read). Default 0. */
  batchMs?: number;
  /** With onBatch: keep only the last position of each worker in a batch (statuses, alerts, deliveries are all kept, in order). */
  conflate?: boolean;
  onState?(info: ConnectionInfo): void;
  /** Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Default globalThis.WebSocket (Node 20: run with --experimental-websocket, or pass one). */
  WebSocket?: typeof WebSocket;
  /** More fetch options for the SSE request (credentials, ...). */
  init?: RequestInit;
}

/** The reason of a reconnect hint or reset in data ({"reason":"..."}). */
function reasonOf(data: unknown): string {
  const v = typeof data === "string" ? jsonObject(data) : data;
  return isObject(v) && typeof v.reason === "string" ? v.reason : "";
}

/**
 * TeamWatch follows a team's stream until stop(). Each connection after
 * the first resumes after the last stream id received (since=); when the
 * server cannot, a reset event comes, then a new snapshot.
 */
export class TeamWatch {
  info: ConnectionInfo = { state: "stopped", failures: 0 };
  /** Connections that opened. */
  connections = 0;
  /** Position records received. */
  received = 0;

  private readonly base: string;
  private readonly auth: TokenSource;
  private readonly backoff: Backoff;
  private lastId: string;
  private stopped = true;
  /** Bumped by every connect and stop: callbacks of an older attempt are dropped. */
  private attempt = 0;
  private failures = 0;
  private openedAt = 0;
  private gotData = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private closeConn: (() => void) | null = null;
  private pending: StreamEvent[] = [];
  private pendingReceived = 0;
  private token: string | null = null;

  constructor(private readonly opts: WatchOptions) {
    if (!opts.onEvent && !opts.onBatch) {
      throw new TypeError("watch: give onEvent or onBatch");
    }
    if (opts.batchMs !== undefined && !(opts.batchMs >= 0)) {
      throw new RangeError(`watch: batchMs must be >= 0, got ${opts.batchMs}`);
    }
    this.base = `${opts.baseURL.replace(/\/+$/, "")}/${seg(opts.team)}`;
    this.auth = tokenSource(opts.auth);
    this.backoff = new Backoff(opts.backoff);
    this.lastId = opts.after ?? "";
  }

  /** The stream id of the last event received: where the next connection resumes (or another watch, as after). */
  get after(): string {
    return this.lastId;
  }

  start(): this {
    if (this.stopped) {
      this.stopped = false;
      this.connect();
    }
    return this;
  }

  /** Closes the connection and cancels any scheduled reconnect; events not yet delivered are dropped. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.attempt++;
    this.pending = [];
    this.pendingReceived = 0;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.halt({ state: "stopped", failures: this.failures });
  }

  private current(attempt: number): boolean {
    return attempt === this.attempt && !this.stopped;
  }

  private connect(): void {
    if (this.stopped) {
      return;
    }
    this.closeConnection();
    const attempt = ++this.attempt;
    this.gotData = false;
    this.openedAt = 0;
    this.setState({ state: "connecting", failures: this.failures });
    Promise.resolve()
      .then(() => this.auth.token())
      .then(
        (token) => {
          if (!this.current(attempt)) {
            return;
          }
          this.token = token;
          if (this.opts.transport === "websocket") {
            this.openWS(attempt, token);
          } else {
            void this.openSSE(attempt, token);
          }
        },
        (err: unknown) => {
          if (this.current(attempt)) {
            this.failures++;
            const retry = typeof err === "object" && err !== null && "retry" in err && typeof err.retry === "boolean" ? err.retry : true;
            this.refusedWith({ retry, message: err instanceof Error ? err.message : String(err) });
          }
        },
      );
  }

  private url(): string {
    return this.lastId === "" ? this.base : `${this.base}?since=${encodeURIComponent(this.lastId)}`;
  }

  private async openSSE(attempt: number, token: string | null): Promise<void> {
    const ctl = new AbortController();
    this.closeConn = () => ctl.abort();
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    let url = this.url();
    if (token !== null) {
      if (this.opts.tokenIn === "query") {
        url = withToken(url, token);
      } else {
        headers.Authorization = `Bearer ${token}`;
      }
    }
    let resp: Response;
    try {
      resp = await (this.opts.fetch ?? globalThis.fetch)(url, { cache: "no-store", ...this.opts.init, headers, signal: ctl.signal });
    } catch {
      if (this.current(attempt)) {
        this.failed("error");
      }
      return;
    }
    if (!this.current(attempt)) {
      void resp.body?.cancel().catch(() => {});
      return;
    }
    if (resp.status === 401 || resp.status === 403) {
      const message = await errorMessage(resp);
      if (this.current(attempt)) {
        this.failures++;
        this.refused(resp.status, message);
      }
      return;
    }
    if (!resp.ok || resp.body === null) {
      void resp.body?.cancel().catch(() => {});
      this.failed(`http ${resp.status}`);
      return;
    }
    this.opened();
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SSEParser();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (!this.current(attempt)) {
          return;
        }
        if (done) {
          this.failed("closed");
          return;
        }
        const hint = this.onSSE(parser.push(decoder.decode(value, { stream: true })));
        if (hint !== null) {
          ctl.abort();
          this.hinted(hint);
          return;
        }
      }
    } catch {
      if (this.current(attempt)) {
        this.failed("error");
      }
    } finally {
      void reader.cancel().catch(() => {});
    }
  }

  /** Takes one network read's messages; returns the reconnect hint's reason if the server sent one. */
  private onSSE(msgs: SSEMessage[]): string | null {
    // The positions of a read are parsed in one JSON.parse: much cheaper
    // than one per record. A bad record falls back to one parse each.
    const events: (StreamEvent | { raw: string; id: string | undefined })[] = [];
    let hint: string | null = null;
    let positions = 0;
    for (const m of msgs) {
      if (m.id !== undefined && m.id !== "") {
        this.lastId = m.id;
      }
      switch (m.event) {
        case "message":
          if (m.data === "") {
            if (m.id) {
              events.push({ type: "mark", id: m.id });
            }
          } else {
            events.push({ raw: m.data, id: m.id || undefined });
            positions++;
          }
          break;
        case "status": {
          const status = toStatus(jsonObject(m.data));
          if (status !== null) events.push({ type: "status", id: m.id, status });
          break;
        }
        case "alert": {
          const alert = toAlert(jsonObject(m.data));
          if (alert !== null) events.push({ type: "alert", id: m.id, alert });
          break;
        }
        case "delivery": {
          const delivery = toDelivery(jsonObject(m.data));
          if (delivery !== null) events.push({ type: "delivery", id: m.id, delivery });
          break;
        }
        case "reset":
          events.push({ type: "reset", reason: reasonOf(m.data) || "not_retained" });
          break;
        case "reconnect":
          hint = reasonOf(m.data) || "reconnect";
          break;
      }
      if (hint !== null) {
        break;
      }
    }
    let parsed: unknown[] | null = null;
    if (positions > 0) {
      const raw = events.flatMap((e) => ("raw" in e ? [e.raw] : []));
      try {
        parsed = JSON.parse(`[${raw.join(",")}]`) as unknown[];
      } catch {
        parsed = raw.map((d) => jsonObject(d));
      }
      if (parsed.length !== raw.length) {
        parsed = raw.map((d) => jsonObject(d)); // a "record" with a comma in the wrong place
      }
    }
    const out: StreamEvent[] = [];
    let i = 0;
    for (const e of events) {
      if (!("raw" in e)) {
        out.push(e);
        continue;
      }
      const position = toPosition(parsed![i++]);
      if (position !== null) {
        out.push(e.id === undefined ? { type: "position", position } : { type: "position", id: e.id, position });
      }
    }
    this.deliver(out, positions);
    return hint;
  }

  private openWS(attempt: number, token: string | null): void {
    const WS = this.opts.WebSocket ?? globalThis.WebSocket;
    if (WS === undefined) {
      throw new Error("watch: no WebSocket in this runtime (Node 20: --experimental-websocket, or pass WebSocket)");
    }
    const httpURL = withToken(this.base.replace(/\/?$/, "/ws") + (this.lastId === "" ? "" : `?since=${encodeURIComponent(this.lastId)}`), token);
    let ws: WebSocket;
    try {
      ws = new WS(wsURL(httpURL));
    } catch {
      this.failed("error");
      return;
    }
    this.closeConn = () => ws.close(1000);
    let hint: string | null = null;
    let opened = false;
    ws.onopen = () => {
      if (this.current(attempt)) {
        opened = true;
        this.opened();
      }
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (!this.current(attempt) || typeof ev.data !== "string") {
        return;
      }
      const m = jsonObject(ev.data);
      if (m === null) {
        return;
      }
      const id = typeof m.id === "string" && m.id !== "" ? m.id : undefined;
      const out: StreamEvent[] = [];
      let received = 0;
      switch (m.type) {
        case "positions": {
          const list = Array.isArray(m.positions) ? m.positions : [];
          received = list.length;
          for (const r of list) {
            const position = toPosition(r);
            if (position !== null) out.push({ type: "position", position });
          }
          if (id !== undefined) {
            if (list.length === 0) {
              out.push({ type: "mark", id });
            } else if (out.length > 0 && out[out.length - 1].type === "position") {
              (out[out.length - 1] as { id?: string }).id = id;
            }
          }
          break;
        }
        case "status": {
          const status = toStatus(m.status);
          if (status !== null) out.push({ type: "status", id, status });
          break;
        }
        case "alert": {
          const alert = toAlert(m.alert);
          if (alert !== null) out.push({ type: "alert", id, alert });
          break;
        }
        case "delivery": {
          const delivery = toDelivery(m.delivery);
          if (delivery !== null) out.push({ type: "delivery", id, delivery });
          break;
        }
        case "reset":
          out.push({ type: "reset", reason: reasonOf(m) || "not_retained" });
          break;
        case "reconnect":
          hint = reasonOf(m) || "reconnect";
          return; // the close follows
      }
      if (id !== undefined) {
        this.lastId = id;
      }
      this.deliver(out, received);
    };
    ws.onerror = () => {}; // the close follows, with what there is to know
    ws.onclose = () => {
      if (!this.current(attempt)) {
        return;
      }
      this.closeConn = null;
      if (hint !== null) {
        this.hinted(hint);
      } else if (opened) {
        this.failed("closed");
      } else {
        void this.probeRefusal(attempt);
      }
    };
  }

  /**
   * A WebSocket that did not open does not say why: ask the team's
   * positions with the same token whether it is refused.
   */
  private async probeRefusal(attempt: number): Promise<void> {
    let status = 0;
    let message = "";
    try {
      const headers: Record<string, string> = { Accept: "application/json" };
      if (this.token !== null) {
        headers.Authorization = `Bearer ${this.token}`;
      }
      const resp = await (this.opts.fetch ?? globalThis.fetch)(`${this.base}/positions`, { cache: "no-store", ...this.opts.init, headers });
      status = resp.status;
      if (status === 401 || status === 403) {
        message = await errorMessage(resp);
      } else {
        void resp.body?.cancel().catch(() => {});
      }
    } catch {
      // the network: retry
    }
    if (!this.current(attempt)) {
      return;
    }
    if (status === 401 || status === 403) {
      this.failures++;
      this.refused(status, message);
    } else {
      this.failed("error");
    }
  }

  private opened(): void {
    this.openedAt = Date.now();
    this.connections++;
    this.setState({ state: "open", failures: this.failures });
    clearTimeout(this.renewTimer);
    const ms = this.auth.renewIn?.();
    if (ms !== undefined) {
      const attempt = this.attempt;
      this.renewTimer = setTimeout(
        () => {
          if (this.current(attempt)) {
            this.connect(); // a new token: the old one is due
          }
        },
        Math.min(2 ** 31 - 1, Math.max(0, ms)),
      );
    }
  }

  private deliver(events: StreamEvent[], received: number): void {
    if (received > 0 || events.length > 0) {
      if (!this.gotData) {
        this.gotData = true;
        this.failures = 0;
      }
    }
    this.received += received;
    if (events.length === 0 && received === 0) {
      return;
    }
    if (!this.opts.onBatch) {
      for (const ev of events) {
        try {
          this.opts.onEvent!(ev);
        } catch (err) {
          reportError(err); // the caller's bug: not the stream's, which goes on
        }
      }
      return;
    }
    for (const ev of events) {
      this.pending.push(ev);
    }
    this.pendingReceived += received;
    const ms = this.opts.batchMs ?? 0;
    if (ms === 0) {
      this.flush();
    } else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), ms);
    }
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    let events = this.pending;
    const received = this.pendingReceived;
    this.pending = [];
    this.pendingReceived = 0;
    if (this.opts.conflate) {
      events = conflate(events);
    }
    try {
      this.opts.onBatch!({ events, received });
    } catch (err) {
      reportError(err);
    }
  }

  /** The server asked for a reconnection: come back at once (a little jitter spreads a draining replica's clients), later if too slow. */
  private hinted(reason: string): void {
    this.closeConnection();
    if (reason === "token_expired") {
      this.auth.expired?.();
    }
    this.schedule((reason === "slow" ? 1000 : 0) + Math.random() * 250, reason);
  }

  /** The connection failed or ended: retry with backoff (none after a healthy connection). */
  private failed(reason: string): void {
    this.closeConnection();
    const healthy = this.gotData || (this.openedAt > 0 && Date.now() - this.openedAt >= (this.opts.healthyAfterMs ?? 10_000));
    this.failures = healthy ? 0 : this.failures + 1;
    this.schedule(this.backoff.delay(this.failures), reason);
  }

  private refused(status: number, message: string): void {
    const attempt = this.attempt;
    this.setState({ state: "waiting", failures: this.failures, reason: "auth" });
    Promise.resolve()
      .then(() => (this.auth.refused ? this.auth.refused(status, message) : defaultRefusal(status, message)))
      .then(
        (r) => {
          if (this.current(attempt)) this.refusedWith(r);
        },
        (err: unknown) => {
          if (this.current(attempt)) this.refusedWith({ retry: true, message: String(err) });
        },
      );
  }

  private refusedWith(r: Refusal): void {
    if (r.retry) {
      this.schedule(this.backoff.delay(this.failures), "auth", r.message);
    } else {
      this.halt({ state: "unauthorized", failures: this.failures, reason: "auth", message: r.message });
    }
  }

  private schedule(delayMs: number, reason: string, message?: string): void {
    this.closeConnection();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delayMs);
    this.setState({ state: "waiting", failures: this.failures, retryAt: Date.now() + delayMs, reason, message });
  }

  private halt(info: ConnectionInfo): void {
    this.closeConnection();
    clearTimeout(this.timer);
    this.setState(info);
  }

  private closeConnection(): void {
    clearTimeout(this.renewTimer);
    const close = this.closeConn;
    this.closeConn = null;
    close?.();
  }

  private setState(info: ConnectionInfo): void {
    this.info = info;
    this.opts.onState?.(info);
  }
}

/** Reports an exception of a handler as uncaught (the console, window.onerror, Node's uncaughtException) without unwinding the stream's reader. */
function reportError(err: unknown): void {
  setTimeout(() => {
    throw err;
  }, 0);
}

/** Starts watching: new TeamWatch(opts).start(). */
export function watchTeam(opts: WatchOptions): TeamWatch {
  return new TeamWatch(opts).start();
}

/** events with only the last position of each worker, everything else kept in order. */
export function conflate(events: StreamEvent[]): StreamEvent[] {
  const last = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.type === "position") {
      last.set(e.position.workerId, i);
    }
  });
  if (last.size === events.length) {
    return events;
  }
  return events.filter((e, i) => e.type !== "position" || last.get(e.position.workerId) === i);
}

/** The ws: or wss: URL of an http(s) URL (a relative one is taken from the page's location). */
export function wsURL(url: string): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const u = base === undefined ? new URL(url) : new URL(url, base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}
