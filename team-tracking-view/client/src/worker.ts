// A worker's lasting connection (docs/API.md, "Worker: publishing" and
// "Messages to workers"): GET {base}/ws, a WebSocket. It sends position
// records, receives the managers' messages (each id once: delivery is at
// least once) and acknowledges them, and follows the sampling advice. When
// the server asks it to reconnect (lifetime, token expiry, shutdown,
// replaced) or the connection breaks, it dials again with backoff, as
// tracking-core/client's Worker does; records sent meanwhile wait in a
// bounded queue.

import { tokenSource, withToken, type Auth, type TokenSource } from "./auth.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { wsURL } from "./manager.js";
import { isObject, jsonObject, positionRecord, type PositionInput } from "./records.js";

/** A manager's message to the worker. */
export interface WorkerMessage {
  id: string;
  /** The JSON object the manager sent. */
  body: Record<string, unknown>;
  /** RFC 3339. */
  sentAt: string;
  /** RFC 3339. */
  expiresAt: string;
}

/** The server's answer to a bad record (the connection stays). */
export interface RecordError {
  code: string;
  message: string;
  /** The record's id, if known. */
  id?: string;
}

export type WorkerState = "connecting" | "open" | "waiting" | "closed";

export interface WorkerOptions {
  /** The tracking API: a replica's ".../tracking", or a gateway's ".../tracking/redis". */
  baseURL: string;
  /** The worker's token (sent as access_token: a WebSocket cannot carry headers). */
  auth?: Auth;
  backoff?: BackoffOptions;
  /** Records kept while disconnected; older ones are dropped beyond it. Default 1,000. */
  maxQueue?: number;
  /** A new message (each id once). Acknowledge it with ack(id), or it comes again on the next connection. */
  onMessage?(m: WorkerMessage): void;
  /** The sampling advice: report every intervalMs. */
  onConfig?(intervalMs: number, interval: string): void;
  /** The server refused a record. */
  onError?(e: RecordError): void;
  onState?(state: WorkerState, reason?: string): void;
  /** Default globalThis.WebSocket (Node 20: run with --experimental-websocket, or pass one). */
  WebSocket?: typeof WebSocket;
}

/** A worker's WebSocket, reconnecting until close(). */
export class WorkerConnection {
  state: WorkerState = "closed";
  /** Connections that opened. */
  connections = 0;
  /** The latest sampling advice in ms (0 before any). */
  intervalMs = 0;
  /** Records dropped because the queue was full. */
  dropped = 0;

  private readonly auth: TokenSource;
  private readonly backoff: Backoff;
  private ws: WebSocket | null = null;
  private queue: string[] = [];
  private seen = new Set<string>();
  private closed = true;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly opts: WorkerOptions) {
    this.auth = tokenSource(opts.auth);
    this.backoff = new Backoff(opts.backoff ?? { minMs: 100, maxMs: 10_000 });
  }

  /** Connects (and keeps connecting) until close(). */
  start(): this {
    if (this.closed) {
      this.closed = false;
      void this.connect();
    }
    return this;
  }

  /** Publishes a position: id and timeStamp are filled in when left out. Throws on a bad position. */
  sendPosition(p: PositionInput): void {
    this.sendRaw(JSON.stringify(positionRecord(p)));
  }

  /** Publishes one record, or a JSON array of records, as given. Queued while disconnected. */
  sendRaw(text: string): void {
    if (this.closed) {
      throw new Error("worker: closed");
    }
    if (this.ws !== null && this.ws.readyState === 1 && this.queue.length === 0) {
      this.ws.send(text);
      return;
    }
    this.queue.push(text);
    const max = this.opts.maxQueue ?? 1000;
    while (this.queue.length > max) {
      this.queue.shift();
      this.dropped++;
    }
  }

  /** Tells the server the worker got message id. */
  ack(id: string): void {
    this.reply("ack", id);
  }

  /** Tells the server the worker's user read message id. */
  read(id: string): void {
    this.reply("read", id);
  }

  /** Resolves once everything queued was handed to an open connection and its send buffer drained (or on close). */
  async flushed(): Promise<void> {
    while (!this.closed && (this.queue.length > 0 || (this.ws?.bufferedAmount ?? 0) > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Closes the connection cleanly (records written are still read by the server) and stops reconnecting. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.setState("closed");
  }

  private reply(type: "ack" | "read", id: string): void {
    this.sendRaw(JSON.stringify({ type, id }));
  }

  private async connect(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.setState("connecting");
    let token: string | null;
    try {
      token = await this.auth.token();
    } catch (err) {
      this.retry(`auth: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (this.closed) {
      return;
    }
    const WS = this.opts.WebSocket ?? globalThis.WebSocket;
    if (WS === undefined) {
      throw new Error("worker: no WebSocket in this runtime (Node 20: --experimental-websocket, or pass WebSocket)");
    }
    const ws = new WS(wsURL(withToken(`${this.opts.baseURL.replace(/\/+$/, "")}/ws`, token)));
    this.ws = ws;
    let hint: string | null = null;
    let opened = false;
    ws.onopen = () => {
      if (ws !== this.ws) {
        return;
      }
      opened = true;
      this.connections++;
      this.setState("open");
      for (const text of this.queue.splice(0)) {
        ws.send(text);
      }
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (ws !== this.ws || typeof ev.data !== "string") {
        return;
      }
      // Any answer at all: the connection works, back to the shortest wait.
      this.failures = 0;
      const m = jsonObject(ev.data);
      if (m === null) {
        return;
      }
      switch (m.type) {
        case "message": {
          if (typeof m.id !== "string" || m.id === "") {
            return;
          }
          if (this.seen.has(m.id)) {
            this.ack(m.id); // sent again: our ack was lost
            return;
          }
          this.seen.add(m.id);
          if (this.seen.size > 10_000) {
            this.seen.delete(this.seen.values().next().value as string);
          }
          this.opts.onMessage?.({
            id: m.id,
            body: isObject(m.body) ? m.body : {},
            sentAt: typeof m.sentAt === "string" ? m.sentAt : "",
            expiresAt: typeof m.expiresAt === "string" ? m.expiresAt : "",
          });
          break;
        }
        case "config": {
          const ms = typeof m.interval === "string" ? durationMs(m.interval) : NaN;
          if (Number.isFinite(ms)) {
            this.intervalMs = ms;
            this.opts.onConfig?.(ms, m.interval as string);
          }
          break;
        }
        case "error":
          this.opts.onError?.({
            code: typeof m.code === "string" ? m.code : "",
            message: typeof m.message === "string" ? m.message : "",
            id: typeof m.id === "string" ? m.id : undefined,
          });
          break;
        case "reconnect":
          hint = typeof m.reason === "string" ? m.reason : "reconnect";
          break;
      }
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      if (ws !== this.ws) {
        return;
      }
      this.ws = null;
      if (this.closed) {
        return;
      }
      if (hint === "token_expired") {
        this.auth.expired?.();
      }
      if (hint !== null) {
        this.failures = 0;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.connect(), Math.random() * 250);
        this.setState("waiting", hint);
      } else {
        if (!opened) {
          this.failures++;
        }
        this.retry(opened ? "closed" : "error");
      }
    };
  }

  private retry(reason: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), this.backoff.delay(this.failures));
    this.failures++;
    this.setState("waiting", reason);
  }

  private setState(state: WorkerState, reason?: string): void {
    this.state = state;
    this.opts.onState?.(state, reason);
  }
}

/** Connects a worker: new WorkerConnection(opts).start(). */
export function connectWorker(opts: WorkerOptions): WorkerConnection {
  return new WorkerConnection(opts).start();
}

/** Milliseconds of a Go duration ("1s", "30s", "1m30s", "500ms"); NaN if it is not one. */
export function durationMs(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  return s !== "" && end === s.length ? total : s === "0" ? 0 : NaN;
}
