// The connection to a team's stream: GET /tracking/{strategy}/{team} on
// the page's own origin (the gateway), through @teamtrack/client's
// TeamWatch (team-tracking-view/client), which reads the Server-Sent
// Events with fetch, resumes after the last stream id (since=) so a new
// connection gets what it missed rather than a snapshot, reconnects with
// backoff and jitter, and follows the server's reconnect hints (connection
// lifetime, replica shutdown, slow client, token expiry).
//
// Each network read (the server writes the positions of 50 ms at once)
// is parsed in one JSON.parse: not one DOM event per record, the cost that
// kept a tab of 2,000 workers at 10 positions/s from drawing smoothly
// (README, "Performance"). In the Web Worker (the default) the page gets
// at most one batch per display frame, and only once it applied the last
// one, with each worker's newest position (streamwire.ts): a worker
// costs the page once a batch however often it reports.
//
// With authentication (auth.ts) each connection first gets its token and
// sends it as Authorization: Bearer. A refusal (401, 403) is the stream's
// own answer now (EventSource could not say), and the credentials decide
// whether a new token may help (dev: sign in again) or not (jwt: the
// indicator says so and the stream stops trying). A dev token is renewed
// before it expires by reconnecting with a new one.

import {
  TeamWatch,
  type AlertRecord,
  type ConnectionInfo,
  type DeliveryRecord,
  type StatusRecord,
  type TokenSource,
} from "@teamtrack/client";
import { AuthError, type StreamCredentials } from "./auth";
import { fromRecord, type Position } from "./position";
import {
  COL_ACCURACY,
  COL_HEADING,
  COL_LAT,
  COL_LNG,
  COL_SPEED,
  COL_TIME,
  COL_WORKER,
  COLUMNS,
  type FromWorker,
  type OtherEvent,
  type ToWorker,
} from "./streamwire";
import workerURL from "./streamworker.ts?worker";

export type { ConnectionInfo, ConnectionState } from "@teamtrack/client";

export interface StreamHandlers {
  /** One position. */
  onPosition(p: Position): void;
  /**
   * Position records that arrived but are not passed to onPosition: the
   * stream's Web Worker keeps only each worker's newest between two batches
   * (streamwire.ts). For the counts (received, the rate).
   */
  onConflated?(n: number): void;
  /** A worker's presence status. */
  onStatus?(s: StatusRecord): void;
  /** A geofence or proximity alert. */
  onAlert?(a: AlertRecord): void;
  /** A message's delivery to one worker changed state (messages.ts). */
  onDelivery?(d: DeliveryRecord): void;
  /**
   * The server could not resume where the last connection ended (`event:
   * reset`): a snapshot follows, but alerts raised meanwhile were missed.
   */
  onReset?(): void;
  onStateChange(info: ConnectionInfo): void;
}

export function streamURL(strategy: string, team: string): string {
  return `/tracking/${encodeURIComponent(strategy)}/${encodeURIComponent(team)}`;
}

/** The credentials as the client's TokenSource. */
function tokenSource(credentials: StreamCredentials): TokenSource {
  return {
    token: () =>
      credentials.token().catch((err: unknown) => {
        throw err instanceof AuthError ? err : new AuthError(`Sign-in failed: ${String(err)}`, true);
      }),
    refused: (status, message) => {
      const e = credentials.refused(status, message);
      return { retry: e.retry, message: e.message };
    },
    expired: () => credentials.expired(),
    renewIn: () => credentials.renewIn(),
  };
}

/**
 * Whether streams run in a Web Worker (the default where there are
 * workers); the page's ?stream=main keeps them on the main thread, to
 * compare (README, "Performance").
 */
const inWorker = typeof Worker !== "undefined" && new URLSearchParams(location.search).get("stream") !== "main";

export class TeamStream {
  info: ConnectionInfo = { state: "stopped", failures: 0 };
  /** Connections that opened, for tests and diagnostics. */
  connections = 0;

  private watch: TeamWatch | null = null;
  private worker: Worker | null = null;
  private readonly baseURL: string;
  private full: boolean;

  /**
   * full: every position reaches onPosition (the page draws trails);
   * otherwise, with the stream in its Web Worker, each worker's newest
   * between two batches (setFull changes it).
   */
  constructor(
    strategy: string,
    private readonly team: string,
    private readonly handlers: StreamHandlers,
    private readonly credentials: StreamCredentials,
    full = false,
  ) {
    this.baseURL = `/tracking/${encodeURIComponent(strategy)}`;
    this.full = full;
  }

  /** Every position (on) or each worker's newest per batch (off); see the constructor. */
  setFull(on: boolean): void {
    if (on !== this.full) {
      this.full = on;
      this.worker?.postMessage({ type: "full", on } satisfies ToWorker);
    }
  }

  start(): void {
    if (this.watch !== null || this.worker !== null) {
      return;
    }
    if (inWorker) {
      try {
        this.startWorker();
        return;
      } catch (err) {
        console.warn(`team-tracking-view: no stream worker (${String(err)}); reading the stream on the page`);
      }
    }
    this.startHere();
  }

  /** Closes the connection and cancels any scheduled reconnect. Idempotent. */
  stop(): void {
    this.watch?.stop();
    this.watch = null;
    if (this.worker !== null) {
      this.worker.terminate();
      this.worker = null;
      this.setState({ state: "stopped", failures: this.info.failures });
    }
  }

  private setState(info: ConnectionInfo): void {
    this.info = info;
    this.handlers.onStateChange(info);
  }

  /** The stream on the page's main thread. */
  private startHere(): void {
    const h = this.handlers;
    this.watch = new TeamWatch({
      baseURL: this.baseURL,
      team: this.team,
      auth: tokenSource(this.credentials),
      init: { credentials: "same-origin" },
      onState: (info) => {
        this.connections = this.watch?.connections ?? this.connections;
        this.setState(info);
      },
      onBatch: ({ events }) => {
        const now = Date.now();
        for (const ev of events) {
          switch (ev.type) {
            case "position":
              h.onPosition(fromRecord(ev.position, now));
              break;
            case "status":
              h.onStatus?.(ev.status);
              break;
            case "alert":
              h.onAlert?.(ev.alert);
              break;
            case "delivery":
              h.onDelivery?.(ev.delivery);
              break;
            case "reset":
              h.onReset?.();
              break;
          }
        }
      },
    });
    this.watch.start();
  }

  /** The stream in a Web Worker (streamworker.ts): the page gets rows of numbers. */
  private startWorker(): void {
    const worker = new Worker(new URL(workerURL, import.meta.url));
    this.worker = worker;
    const names: string[] = [];
    const reply = (m: ToWorker): void => {
      if (this.worker === worker) {
        worker.postMessage(m);
      }
    };
    worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      if (this.worker !== worker) {
        return;
      }
      const m = ev.data;
      switch (m.type) {
        case "batch": {
          for (const n of m.names) {
            names.push(n);
          }
          try {
            this.applyBatch(m.rows, m.received, m.others, names);
          } finally {
            // Applied (or a handler failed: its own error): the worker may send the next batch.
            reply({ type: "ack" });
          }
          break;
        }
        case "state":
          this.connections = m.connections;
          this.setState(m.info);
          break;
        case "token":
          this.credentials.token().then(
            (token) => reply({ type: "token", id: m.id, token, renewIn: this.credentials.renewIn() }),
            (err: unknown) => {
              const e = err instanceof AuthError ? err : new AuthError(`Sign-in failed: ${String(err)}`, true);
              reply({ type: "token", id: m.id, token: null, error: { message: e.message, retry: e.retry } });
            },
          );
          break;
        case "refused": {
          const e = this.credentials.refused(m.status, m.message);
          reply({ type: "refused", id: m.id, retry: e.retry, message: e.message });
          break;
        }
        case "expired":
          this.credentials.expired();
          break;
      }
    };
    worker.onerror = (ev) => console.error(`team-tracking-view: stream worker: ${ev.message}`);
    const base = new URL(this.baseURL, location.href).href;
    worker.postMessage({ type: "start", baseURL: base, team: this.team, full: this.full } satisfies ToWorker);
  }

  /** One batch of the stream's worker: its rows, the records conflated away, the other events. */
  private applyBatch(r: Float64Array, received: number, others: OtherEvent[], names: string[]): void {
    const h = this.handlers;
    const now = Date.now();
    for (let o = 0; o < r.length; o += COLUMNS) {
      const time = r[o + COL_TIME];
      h.onPosition({
        workerId: names[r[o + COL_WORKER]],
        team: this.team,
        lat: r[o + COL_LAT],
        lng: r[o + COL_LNG],
        time: Number.isFinite(time) ? time : now,
        heading: num(r[o + COL_HEADING]),
        speed: num(r[o + COL_SPEED]),
        accuracy: num(r[o + COL_ACCURACY]),
      });
    }
    h.onConflated?.(received - r.length / COLUMNS);
    for (const e of others) {
      switch (e.type) {
        case "status":
          h.onStatus?.(e.status);
          break;
        case "alert":
          h.onAlert?.(e.alert);
          break;
        case "delivery":
          h.onDelivery?.(e.delivery);
          break;
        case "reset":
          h.onReset?.();
          break;
      }
    }
  }
}

function num(v: number): number | undefined {
  return Number.isNaN(v) ? undefined : v;
}
