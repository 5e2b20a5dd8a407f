// The connection to a team's stream: GET /tracking/{strategy}/{team} on
// the page's own origin (the gateway), through @teamtrack/client's
// TeamWatch (team-tracking-view/client), which reads the Server-Sent
// Events with fetch, resumes after the last stream id (since=) so a new
// connection gets what it missed rather than a snapshot, reconnects with
// backoff and jitter, and follows the server's reconnect hints (connection
// lifetime, replica shutdown, slow client, token expiry).
//
// Each network read (the server writes the positions of 50 ms at once)
// reaches the page as one batch, parsed in one JSON.parse: not one DOM
// event per record, the cost that kept a tab of 2,000 workers at 10
// positions/s from drawing smoothly (README, "Performance").
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
  type PositionRecord,
  type StatusRecord,
  type TokenSource,
} from "@teamtrack/client";
import { AuthError, type StreamCredentials } from "./auth";

export type { ConnectionInfo, ConnectionState } from "@teamtrack/client";

export interface StreamHandlers {
  /** One position record. */
  onPosition(p: PositionRecord): void;
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

export class TeamStream {
  private readonly watch: TeamWatch;

  constructor(strategy: string, team: string, handlers: StreamHandlers, credentials: StreamCredentials) {
    this.watch = new TeamWatch({
      baseURL: `/tracking/${encodeURIComponent(strategy)}`,
      team,
      auth: tokenSource(credentials),
      init: { credentials: "same-origin" },
      onState: (info) => handlers.onStateChange(info),
      onBatch: ({ events }) => {
        for (const ev of events) {
          switch (ev.type) {
            case "position":
              handlers.onPosition(ev.position);
              break;
            case "status":
              handlers.onStatus?.(ev.status);
              break;
            case "alert":
              handlers.onAlert?.(ev.alert);
              break;
            case "delivery":
              handlers.onDelivery?.(ev.delivery);
              break;
            case "reset":
              handlers.onReset?.();
              break;
          }
        }
      },
    });
  }

  /** Connections that opened, for tests and diagnostics. */
  get connections(): number {
    return this.watch.connections;
  }

  get info(): ConnectionInfo {
    return this.watch.info;
  }

  start(): void {
    this.watch.start();
  }

  /** Closes the connection and cancels any scheduled reconnect. Idempotent. */
  stop(): void {
    this.watch.stop();
  }
}
