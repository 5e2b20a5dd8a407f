// Replay of a team's history: GET /tracking/{strategy}/{team}/replay
// ?from&to&speed (docs/API.md), Server-Sent Events framed like the live
// stream (unnamed data events, one record each), paced by the server at
// `speed` times real time, and ending with `event: end` and data
// {"positions":N[,"error":"..."]}.
//
// The stream is read by @teamtrack/client's replay() (fetch, the token as
// Authorization: Bearer): it ends at `end`, and a refusal shows its status
// and message. (An EventSource had to be closed on `end`, or the browser
// would have reconnected and the server started the replay over.) A replica
// going away asks to reconnect: the player continues from its clock. On a
// broken connection it pauses and asks the history what went wrong.
// Pausing closes the stream and keeps the clock, the fix time of the latest
// position shown; playing on reopens the replay from that time. Positions
// at exactly that time come again, and the state (state.ts) ignores those
// it has already applied.

import { ApiError, replay } from "@teamtrack/client";
import { AuthError, type StreamCredentials } from "./auth";
import { failureText, historyProblem } from "./history";
import { fromRecord, type Position } from "./position";

export type Speed = "1" | "10" | "60" | "max";

export function isSpeed(s: string): s is Speed {
  return s === "1" || s === "10" || s === "60" || s === "max";
}

export type ReplayStatus =
  /** Nothing replayed yet, or stopped (back to live). */
  | "idle"
  /** Opening the replay stream. */
  | "connecting"
  /** Positions flow. */
  | "playing"
  /** Stopped by the user or by a failure; play continues from the clock. */
  | "paused"
  /** The server sent the end notice: the whole range was replayed. */
  | "ended"
  /** The replay cannot be read (no history, access refused, a bad range). */
  | "failed";

export interface ReplayInfo {
  status: ReplayStatus;
  /** The range replayed, ms since the epoch: [from, to). */
  from: number;
  to: number;
  speed: Speed;
  /** The fix time of the latest position received (ms); null before the first. */
  clock: number | null;
  /** Positions received since the replay started at `from`. */
  positions: number;
  /** Replay streams opened since then (a pause and play opens another). */
  requests: number;
  /** What to tell the user: why it failed or paused, or what the end said. */
  message?: string;
}

export interface ReplayHandlers {
  onPosition(p: Position): void;
  /** The status or message changed (not called for each position). */
  onChange(info: ReplayInfo): void;
}

export class ReplayPlayer {
  private abort: AbortController | null = null;
  private timer: number | undefined;
  /** Bumped by every open and close: a token or probe for an older stream is dropped. */
  private attempt = 0;
  info: ReplayInfo = { status: "idle", from: 0, to: 0, speed: "10", clock: null, positions: 0, requests: 0 };

  /**
   * @param base the team's path, /tracking/{strategy}/{team}
   */
  constructor(
    private readonly base: string,
    private readonly team: string,
    private readonly credentials: StreamCredentials,
    private readonly handlers: ReplayHandlers,
  ) {}

  /** Whether a stream is open or opening. */
  get active(): boolean {
    return this.info.status === "connecting" || this.info.status === "playing";
  }

  /** Replays [from, to) from its start. */
  start(from: number, to: number, speed: Speed): void {
    this.close();
    this.info = { status: "idle", from, to, speed, clock: null, positions: 0, requests: 0 };
    this.open();
  }

  /** Continues a paused replay from its clock, at speed. */
  resume(speed: Speed): void {
    if (this.info.status !== "paused") {
      return;
    }
    this.info.speed = speed;
    this.open();
  }

  /** Closes the stream; the clock is kept for resume(). */
  pause(): void {
    if (this.active) {
      this.close();
      this.set("paused");
    }
  }

  /** A new speed: while playing, the stream is reopened from the clock at that speed. */
  setSpeed(speed: Speed): void {
    this.info.speed = speed;
    if (this.active) {
      this.close();
      this.open();
    }
  }

  /** Closes the stream and forgets the replay. Idempotent. */
  stop(): void {
    this.close();
    this.info = { ...this.info, status: "idle", clock: null, message: undefined };
  }

  /** Where the next stream starts: the clock, or the start of the range. */
  private get resumeAt(): number {
    return this.info.clock ?? this.info.from;
  }

  private open(): void {
    this.close();
    const attempt = this.attempt;
    this.set("connecting");
    this.credentials.token().then(
      (token) => {
        if (attempt === this.attempt) {
          this.connect(token);
        }
      },
      (err: unknown) => {
        if (attempt === this.attempt) {
          this.set("failed", err instanceof AuthError ? err.message : `Sign-in failed: ${String(err)}`);
        }
      },
    );
  }

  private connect(token: string | null): void {
    const from = this.resumeAt;
    const ctl = new AbortController();
    this.abort = ctl;
    this.info.requests++;
    const attempt = this.attempt;
    const speed = this.info.speed;
    replay({
      baseURL: this.base.slice(0, this.base.lastIndexOf("/")),
      team: this.team,
      from,
      to: this.info.to,
      speed: speed === "max" ? "max" : Number(speed),
      auth: token,
      signal: ctl.signal,
      init: { credentials: "same-origin" },
      onOpen: () => {
        if (attempt === this.attempt) {
          this.set("playing");
        }
      },
      onPositions: (records) => {
        if (attempt !== this.attempt) {
          return;
        }
        const now = Date.now();
        for (const r of records) {
          const p = fromRecord(r, now);
          this.info.positions++;
          if (this.info.clock === null || p.time > this.info.clock) {
            this.info.clock = p.time;
          }
          this.handlers.onPosition(p);
        }
      },
    }).then(
      (end) => {
        if (attempt !== this.attempt) {
          return;
        }
        this.close();
        if (end.reconnect !== "") {
          // A replica going away asks its clients to reconnect: continue from the clock.
          if (end.reconnect === "token_expired") {
            this.credentials.expired();
          }
          this.set("connecting");
          const next = this.attempt;
          this.timer = window.setTimeout(() => {
            if (next === this.attempt) {
              this.open();
            }
          }, 250 + Math.random() * 500);
        } else if (end.error !== "") {
          this.set("paused", `Replay stopped: ${end.error}`);
        } else if (end.positions < 0) {
          this.interrupted(from, token); // ended without its end notice
        } else {
          this.set("ended");
        }
      },
      (err: unknown) => {
        if (attempt !== this.attempt) {
          return;
        }
        this.close();
        if (err instanceof ApiError && err.status !== 0 && err.status !== 503) {
          // Refused (no history, access, a bad range): the answer says why.
          this.set("failed", failureText(err.status, err.message === `request failed (${err.status})` ? "" : err.message));
        } else {
          this.interrupted(from, token);
        }
      },
    );
  }

  /** The stream broke: pause, and ask the history what went wrong. */
  private interrupted(from: number, token: string | null): void {
    const attempt = this.attempt;
    this.set("paused", "Replay interrupted: checking…");
    void historyProblem(this.base, from, this.info.to, token).then((problem) => {
      if (attempt !== this.attempt) {
        return;
      }
      if (problem !== null && problem.status !== 0 && problem.status !== 503) {
        this.set("failed", problem.message);
      } else {
        this.set("paused", `Replay interrupted${problem ? ` (${problem.message})` : ""}: press Play to continue`);
      }
    });
  }

  private close(): void {
    this.attempt++;
    window.clearTimeout(this.timer);
    this.abort?.abort(); // the request ends: the server stops replaying
    this.abort = null;
  }

  private set(status: ReplayStatus, message?: string): void {
    this.info.status = status;
    this.info.message = message;
    this.handlers.onChange(this.info);
  }
}
