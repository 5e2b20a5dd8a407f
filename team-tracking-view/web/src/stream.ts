// The connection to a team's position stream: Server-Sent Events from
// GET /tracking/{strategy}/{team} on the page's own origin (the gateway).
//
// Unnamed data events carry one position record each; the stream starts with
// the snapshot (the last position of every worker), so each new connection
// makes the map whole again at once. `event: reconnect` asks the client to
// reconnect now (connection lifetime, replica shutdown, slow client). Errors
// are retried with exponential backoff and jitter; the browser's own
// EventSource retry is not used, so that a failing gateway is not hammered.

export type ConnectionState =
  /** Opening a connection. */
  | "connecting"
  /** Connected; positions flow. */
  | "open"
  /** Disconnected; a reconnect is scheduled. */
  | "waiting"
  /** stop() was called. */
  | "stopped";

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts in a row (0 when the last connection worked). */
  failures: number;
  /** For "waiting": when the next attempt starts (Date.now() clock). */
  retryAt?: number;
  /** Why the last connection ended, if known. */
  reason?: string;
}

export interface StreamHandlers {
  /** One data event: the record JSON. */
  onData(data: string): void;
  onStateChange(info: ConnectionInfo): void;
}

export interface BackoffOptions {
  /** First retry delay in ms. Default 500. */
  initialMs: number;
  /** Longest retry delay in ms. Default 15000. */
  maxMs: number;
}

/** A connection that worked for this long resets the backoff. */
const HEALTHY_AFTER_MS = 10_000;

export function streamURL(strategy: string, team: string): string {
  return `/tracking/${encodeURIComponent(strategy)}/${encodeURIComponent(team)}`;
}

export class TeamStream {
  private source: EventSource | null = null;
  private timer: number | undefined;
  private failures = 0;
  private openedAt = 0;
  private gotData = false;
  private stopped = true;
  /** Connections that opened, for tests and diagnostics. */
  connections = 0;
  info: ConnectionInfo = { state: "stopped", failures: 0 };

  constructor(
    readonly url: string,
    private readonly handlers: StreamHandlers,
    private readonly backoff: BackoffOptions = { initialMs: 500, maxMs: 15_000 },
  ) {}

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
    this.closeSource();
    window.clearTimeout(this.timer);
    this.timer = undefined;
    this.setState({ state: "stopped", failures: this.failures });
  }

  private connect(): void {
    this.timer = undefined;
    if (this.stopped) {
      return;
    }
    this.closeSource();
    this.gotData = false;
    this.openedAt = 0;
    this.setState({ state: "connecting", failures: this.failures });
    const source = new EventSource(this.url);
    this.source = source;
    source.onopen = () => {
      if (source !== this.source) {
        return;
      }
      this.openedAt = Date.now();
      this.connections++;
      this.setState({ state: "open", failures: this.failures });
    };
    source.onmessage = (ev: MessageEvent<string>) => {
      if (source !== this.source) {
        return;
      }
      if (!this.gotData) {
        this.gotData = true;
        this.failures = 0;
      }
      this.handlers.onData(ev.data);
    };
    source.addEventListener("reconnect", (ev: MessageEvent<string>) => {
      if (source !== this.source) {
        return;
      }
      const reason = reconnectReason(ev.data);
      this.closeSource();
      // The server asked for it: come back at once (a little jitter spreads
      // the clients of a draining replica), a bit later if we were too slow.
      const delay = (reason === "slow" ? 1000 : 0) + Math.random() * 250;
      this.schedule(delay, reason);
    });
    source.onerror = () => {
      if (source !== this.source) {
        return;
      }
      // EventSource would retry by itself at the server's `retry:` pace;
      // close it and retry with backoff instead.
      this.closeSource();
      const healthy = this.gotData || (this.openedAt > 0 && Date.now() - this.openedAt >= HEALTHY_AFTER_MS);
      this.failures = healthy ? 0 : this.failures + 1;
      this.schedule(this.delayFor(this.failures), "error");
    };
  }

  private delayFor(failures: number): number {
    if (failures === 0) {
      return Math.random() * this.backoff.initialMs;
    }
    const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (failures - 1));
    return base * (0.5 + Math.random() * 0.5);
  }

  private schedule(delayMs: number, reason: string): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.connect(), delayMs);
    this.setState({ state: "waiting", failures: this.failures, retryAt: Date.now() + delayMs, reason });
  }

  private closeSource(): void {
    if (this.source !== null) {
      this.source.onopen = null;
      this.source.onmessage = null;
      this.source.onerror = null;
      this.source.close();
      this.source = null;
    }
  }

  private setState(info: ConnectionInfo): void {
    this.info = info;
    this.handlers.onStateChange(info);
  }
}

function reconnectReason(data: string): string {
  try {
    const v = JSON.parse(data) as { reason?: unknown };
    return typeof v.reason === "string" ? v.reason : "reconnect";
  } catch {
    return "reconnect";
  }
}
