// The connection to a team's position stream: Server-Sent Events from
// GET /tracking/{strategy}/{team} on the page's own origin (the gateway).
//
// Unnamed data events carry one position record each; the stream starts with
// the snapshot (the last position of every worker), so each new connection
// makes the map whole again at once. `event: reconnect` asks the client to
// reconnect now (connection lifetime, replica shutdown, slow client). Errors
// are retried with exponential backoff and jitter; the browser's own
// EventSource retry is not used, so that a failing gateway is not hammered.
//
// The stream also carries `event: status` (a worker's presence status; the
// snapshot has each worker's after its position), `event: alert` (a
// geofence or proximity alert) and `event: delivery` (a message's delivery
// to one worker changed state: messages.ts), each with a stream id like the
// positions: they reach the handlers as their record JSON.
//
// Every position event carries its stream id. The stream reconnects itself
// (below), so the browser's Last-Event-ID is not sent: each new connection
// carries the last id seen as the since parameter instead, and gets the
// positions it missed rather than a snapshot (the server answers
// `event: reset` and a snapshot when they are no longer kept).
//
// With authentication (auth.ts), each connection first gets its token and
// carries it as the access_token parameter. EventSource does not say why a
// connection failed, so after an error the stream probes the team's
// positions with the token: a 401 or 403 there means the token was refused,
// and the credentials decide whether a new token may help (dev: sign in
// again) or not (jwt: the indicator says so and the stream stops trying).
// A dev token is renewed before it expires by reconnecting with a new one.

import { AuthError, probe, withToken, type StreamCredentials } from "./auth";
import { jsonObject } from "./position";

export type ConnectionState =
  /** Opening a connection. */
  | "connecting"
  /** Connected; positions flow. */
  | "open"
  /** Disconnected; a reconnect is scheduled. */
  | "waiting"
  /** stop() was called. */
  | "stopped"
  /** The server refused access, or there is no token to present; not retrying. */
  | "unauthorized";

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts in a row (0 when the last connection worked). */
  failures: number;
  /** For "waiting": when the next attempt starts (Date.now() clock). */
  retryAt?: number;
  /** Why the last connection ended, if known. */
  reason?: string;
  /** For authentication failures: what to tell the user. */
  message?: string;
}

export interface StreamHandlers {
  /** One data event: the record JSON. */
  onData(data: string): void;
  /** One `event: status`: the worker's status record JSON. */
  onStatus?(data: string): void;
  /** One `event: alert`: the alert record JSON. */
  onAlert?(data: string): void;
  /** One `event: delivery`: the delivery record JSON ({"messageId","workerId","team","state","at"}). */
  onDelivery?(data: string): void;
  /**
   * The server could not resume where the last connection ended (`event:
   * reset`): a snapshot follows, but alerts raised meanwhile were missed.
   */
  onReset?(): void;
  onStateChange(info: ConnectionInfo): void;
}

/** Retry delays start at this many ms and double up to MAX_BACKOFF_MS. */
const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;
/** A connection that worked for this long resets the backoff. */
const HEALTHY_AFTER_MS = 10_000;

/** The longest delay setTimeout takes (about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function streamURL(strategy: string, team: string): string {
  return `/tracking/${encodeURIComponent(strategy)}/${encodeURIComponent(team)}`;
}

export class TeamStream {
  private source: EventSource | null = null;
  private timer: number | undefined;
  private renewTimer: number | undefined;
  /** Bumped by every connect and stop: a token or probe that arrives for an older attempt is dropped. */
  private attempt = 0;
  /** The token of the current connection (null: none). */
  private token: string | null = null;
  private failures = 0;
  private openedAt = 0;
  private gotData = false;
  private stopped = true;
  /** The stream id of the last position received: the next connection resumes after it. */
  private lastId = "";
  /** Connections that opened, for tests and diagnostics. */
  connections = 0;
  info: ConnectionInfo = { state: "stopped", failures: 0 };

  /** The stream's URL, without a token. */
  private readonly url: string;

  constructor(
    strategy: string,
    team: string,
    private readonly handlers: StreamHandlers,
    private readonly credentials: StreamCredentials,
  ) {
    this.url = streamURL(strategy, team);
  }

  start(): void {
    if (!this.stopped) {
      return;
    }
    this.stopped = false;
    this.connect();
  }

  /** Closes the connection and cancels any scheduled reconnect. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.attempt++;
    this.halt({ state: "stopped", failures: this.failures });
  }

  /** Whether a token or probe for this attempt still counts. */
  private current(attempt: number): boolean {
    return attempt === this.attempt && !this.stopped;
  }

  private connect(): void {
    if (this.stopped) {
      return;
    }
    this.closeSource();
    const attempt = ++this.attempt;
    this.gotData = false;
    this.openedAt = 0;
    this.setState({ state: "connecting", failures: this.failures });
    this.credentials.token().then(
      (token) => {
        if (this.current(attempt)) {
          this.open(token);
        }
      },
      (err: unknown) => {
        if (this.current(attempt)) {
          this.failures++;
          this.authFailed(err);
        }
      },
    );
  }

  private open(token: string | null): void {
    this.token = token;
    const url = this.lastId === "" ? this.url : `${this.url}?since=${encodeURIComponent(this.lastId)}`;
    const source = new EventSource(withToken(url, token));
    this.source = source;
    // Events of a source closed since are dropped.
    const ours =
      <E>(handle: (ev: E) => void) =>
      (ev: E): void => {
        if (source === this.source) {
          handle(ev);
        }
      };
    source.onopen = ours(() => {
      this.openedAt = Date.now();
      this.connections++;
      this.setState({ state: "open", failures: this.failures });
      this.scheduleRenewal();
    });
    // Positions, statuses, alerts and deliveries: data flows, and each carries its stream id.
    const record = (handle: ((data: string) => void) | undefined) =>
      ours((ev: MessageEvent<string>) => {
        if (!this.gotData) {
          this.gotData = true;
          this.failures = 0;
        }
        if (ev.lastEventId !== "") {
          this.lastId = ev.lastEventId;
        }
        handle?.(ev.data);
      });
    source.onmessage = record((data) => this.handlers.onData(data));
    source.addEventListener("status", record((data) => this.handlers.onStatus?.(data)));
    source.addEventListener("alert", record((data) => this.handlers.onAlert?.(data)));
    source.addEventListener("delivery", record((data) => this.handlers.onDelivery?.(data)));
    source.addEventListener("reset", ours(() => this.handlers.onReset?.()));
    source.addEventListener("reconnect", ours((ev: MessageEvent<string>) => {
      const reason = jsonObject(ev.data)?.reason;
      this.closeSource();
      if (reason === "token_expired") {
        this.credentials.expired(); // the next connection gets a new token, if it can
      }
      // The server asked for it: come back at once (a little jitter spreads
      // the clients of a draining replica), a bit later if we were too slow.
      const delay = (reason === "slow" ? 1000 : 0) + Math.random() * 250;
      this.schedule(delay, typeof reason === "string" ? reason : "reconnect");
    }));
    source.onerror = ours(() => {
      // EventSource would retry by itself at the server's `retry:` pace;
      // close it and retry with backoff instead.
      this.closeSource();
      const healthy = this.gotData || (this.openedAt > 0 && Date.now() - this.openedAt >= HEALTHY_AFTER_MS);
      this.failures = healthy ? 0 : this.failures + 1;
      if (this.credentials.mode === "none") {
        this.retry("error");
        return;
      }
      // Was it the token? EventSource cannot say; the positions can.
      const attempt = this.attempt;
      this.setState({ state: "waiting", failures: this.failures, reason: "error" });
      void probe(`${this.url}/positions`, this.token).then((res) => {
        if (!this.current(attempt)) {
          return;
        }
        if (res.status === 401 || res.status === 403) {
          this.authFailed(this.credentials.refused(res.status, res.message));
        } else {
          this.retry("error");
        }
      });
    });
  }

  /** No token to present, or the server refused it: retry with backoff, or give up and say why. */
  private authFailed(err: unknown): void {
    const e = err instanceof AuthError ? err : new AuthError(`Sign-in failed: ${String(err)}`, true);
    if (e.retry) {
      this.retry("auth", e.message);
    } else {
      this.halt({ state: "unauthorized", failures: this.failures, reason: "auth", message: e.message });
    }
  }

  /** Reconnects with a new token before the current one expires. */
  private scheduleRenewal(): void {
    window.clearTimeout(this.renewTimer);
    const ms = this.credentials.renewIn();
    if (ms === undefined) {
      return;
    }
    const source = this.source;
    this.renewTimer = window.setTimeout(
      () => {
        if (source === this.source && !this.stopped) {
          this.closeSource();
          this.connect(); // token() signs in again: the old token is due
        }
      },
      Math.min(MAX_TIMEOUT_MS, ms),
    );
  }

  /** Schedules the next attempt with backoff: full jitter at first, then doubling delays, jittered by half. */
  private retry(reason: string, message?: string): void {
    const base = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** (this.failures - 1));
    const delay = this.failures === 0 ? Math.random() * INITIAL_BACKOFF_MS : base * (0.5 + Math.random() * 0.5);
    this.schedule(delay, reason, message);
  }

  private schedule(delayMs: number, reason: string, message?: string): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.connect(), delayMs);
    this.setState({ state: "waiting", failures: this.failures, retryAt: Date.now() + delayMs, reason, message });
  }

  /** Closes the connection and cancels any scheduled reconnect, then reports info. */
  private halt(info: ConnectionInfo): void {
    this.closeSource();
    window.clearTimeout(this.timer);
    this.setState(info);
  }

  private closeSource(): void {
    window.clearTimeout(this.renewTimer);
    this.source?.close(); // a closed EventSource fires no more events
    this.source = null;
  }

  private setState(info: ConnectionInfo): void {
    this.info = info;
    this.handlers.onStateChange(info);
  }
}
