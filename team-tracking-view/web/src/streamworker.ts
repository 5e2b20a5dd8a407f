// The stream's Web Worker (built as its own script: build.mjs, "?worker"):
// see streamwire.ts. Every position's team is the stream's (the team's
// stream carries its own team only), so rows leave it out.

import { TeamWatch, type Refusal, type StreamBatch } from "@teamtrack/client";
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

/** The worker's global scope, as far as it is used (the DOM's types have no DedicatedWorkerGlobalScope). */
const scope = self as unknown as {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
};

const names = new Map<string, number>();
let requests = 0;
const waiting = new Map<number, (m: ToWorker) => void>();
let watch: TeamWatch | null = null;

function ask(m: FromWorker & { id: number }): Promise<ToWorker> {
  return new Promise((resolve) => {
    waiting.set(m.id, resolve);
    scope.postMessage(m);
  });
}

function nameIndex(s: string, fresh: string[]): number {
  let i = names.get(s);
  if (i === undefined) {
    i = names.size;
    names.set(s, i);
    fresh.push(s);
  }
  return i;
}

function post(batch: StreamBatch): void {
  const fresh: string[] = [];
  const others: OtherEvent[] = [];
  let n = 0;
  for (const ev of batch.events) {
    if (ev.type === "position") n++;
  }
  const rows = new Float64Array(n * COLUMNS);
  let o = 0;
  for (const ev of batch.events) {
    switch (ev.type) {
      case "position": {
        const p = ev.position;
        rows[o + COL_WORKER] = nameIndex(p.workerId, fresh);
        rows[o + COL_LAT] = p.location.latitude;
        rows[o + COL_LNG] = p.location.longitude;
        rows[o + COL_TIME] = p.timeStamp === "" ? NaN : Date.parse(p.timeStamp);
        rows[o + COL_HEADING] = p.heading ?? NaN;
        rows[o + COL_SPEED] = p.speed ?? NaN;
        rows[o + COL_ACCURACY] = p.accuracy ?? NaN;
        o += COLUMNS;
        break;
      }
      case "status":
        others.push({ type: "status", status: ev.status });
        break;
      case "alert":
        others.push({ type: "alert", alert: ev.alert });
        break;
      case "delivery":
        others.push({ type: "delivery", delivery: ev.delivery });
        break;
      case "reset":
        others.push({ type: "reset" });
        break;
    }
  }
  if (n > 0 || others.length > 0) {
    scope.postMessage({ type: "batch", names: fresh, rows, others }, [rows.buffer]);
  }
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type !== "start") {
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
    return;
  }
  if (watch !== null) {
    return;
  }
  /** The page's renewIn when the token came, and when that was. */
  let renew: { ms: number; at: number } | undefined;
  watch = new TeamWatch({
    baseURL: m.baseURL,
    team: m.team,
    init: { credentials: "same-origin" },
    auth: {
      token: async () => {
        const r = await ask({ type: "token", id: ++requests });
        if (r.type !== "token") {
          throw new Error("stream worker: a confused answer");
        }
        renew = r.renewIn === undefined ? undefined : { ms: r.renewIn, at: Date.now() };
        if (r.error) {
          throw Object.assign(new Error(r.error.message), { retry: r.error.retry });
        }
        return r.token;
      },
      refused: async (status, message): Promise<Refusal> => {
        const r = await ask({ type: "refused", id: ++requests, status, message });
        return r.type === "refused" ? { retry: r.retry, message: r.message } : { retry: true, message };
      },
      expired: () => scope.postMessage({ type: "expired" }),
      renewIn: () => (renew === undefined ? undefined : renew.ms - (Date.now() - renew.at)),
    },
    onState: (info) => scope.postMessage({ type: "state", info, connections: watch?.connections ?? 0 }),
    onBatch: post,
  });
  watch.start();
};
