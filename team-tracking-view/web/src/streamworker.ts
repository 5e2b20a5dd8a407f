// The stream's Web Worker (built as its own script: build.mjs, "?worker"):
// see streamwire.ts. Every position's team is the stream's (the team's
// stream carries its own team only), so rows leave it out.
//
// Positions held for the next post: each worker's newest in `latest` (by
// its index in the names table), or with full every one in `rows`; a post
// sends the held workers' rows first, then those (after a switch to full
// the held rows are the older ones; after a switch back a worker's older
// rows may follow its newest, and the page's state ignores them as older).

import { TeamWatch, type Refusal, type StreamBatch } from "@teamtrack/client";
import {
  BATCH_INTERVAL_MS,
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

/** Names not yet sent to the page. */
let fresh: string[] = [];
/** The newest row of each worker (by name index) not yet posted, and which hold one. */
let latest = new Float64Array(256 * COLUMNS);
let held = new Uint8Array(256);
let heldList: number[] = [];
/** With full: every row not yet posted, in order (flat, COLUMNS each). */
let rows: number[] = [];
let others: OtherEvent[] = [];
/** Position records taken since the last post. */
let received = 0;
/** Post every position (the page draws trails), not only each worker's newest. */
let full = false;
/** A batch was posted and the page has not acknowledged it yet. */
let inFlight = false;
let lastPost = -Infinity;
let timer: ReturnType<typeof setTimeout> | undefined;

function ask(m: FromWorker & { id: number }): Promise<ToWorker> {
  return new Promise((resolve) => {
    waiting.set(m.id, resolve);
    scope.postMessage(m);
  });
}

function nameIndex(s: string): number {
  let i = names.get(s);
  if (i === undefined) {
    i = names.size;
    names.set(s, i);
    fresh.push(s);
  }
  return i;
}

/** Makes room for worker index i in latest and held. */
function grow(i: number): void {
  if (i < held.length) {
    return;
  }
  const n = Math.max(i + 1, held.length * 2);
  const l = new Float64Array(n * COLUMNS);
  l.set(latest);
  latest = l;
  const h = new Uint8Array(n);
  h.set(held);
  held = h;
}

/** Takes one network read: keeps each worker's newest position (or, with full, every one) for the next post. */
function take(batch: StreamBatch): void {
  for (const ev of batch.events) {
    switch (ev.type) {
      case "position": {
        received++;
        const p = ev.position;
        const w = nameIndex(p.workerId);
        const time = p.timeStamp === "" ? NaN : Date.parse(p.timeStamp);
        let o: number;
        if (full) {
          o = rows.length;
          rows.length += COLUMNS;
          put(rows, o, w, p.location.latitude, p.location.longitude, time, p.heading, p.speed, p.accuracy);
          break;
        }
        grow(w);
        o = w * COLUMNS;
        if (held[w] === 0) {
          held[w] = 1;
          heldList.push(w);
        } else if (time < latest[o + COL_TIME]) {
          break; // an older fix than the one held: the newest wins
        }
        put(latest, o, w, p.location.latitude, p.location.longitude, time, p.heading, p.speed, p.accuracy);
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
  schedule();
}

function put(
  a: Float64Array | number[],
  o: number,
  w: number,
  lat: number,
  lng: number,
  time: number,
  heading: number | undefined,
  speed: number | undefined,
  accuracy: number | undefined,
): void {
  a[o + COL_WORKER] = w;
  a[o + COL_LAT] = lat;
  a[o + COL_LNG] = lng;
  a[o + COL_TIME] = time;
  a[o + COL_HEADING] = heading ?? NaN;
  a[o + COL_SPEED] = speed ?? NaN;
  a[o + COL_ACCURACY] = accuracy ?? NaN;
}

/** Posts now, later (BATCH_INTERVAL_MS after the last post), or once the page took the last batch. */
function schedule(): void {
  if (inFlight || timer !== undefined || (received === 0 && others.length === 0)) {
    return;
  }
  const wait = lastPost + BATCH_INTERVAL_MS - performance.now();
  if (wait <= 0) {
    post();
  } else {
    timer = setTimeout(() => {
      timer = undefined;
      post();
    }, wait);
  }
}

function post(): void {
  const out = new Float64Array(heldList.length * COLUMNS + rows.length);
  let o = 0;
  for (const w of heldList) {
    out.set(latest.subarray(w * COLUMNS, (w + 1) * COLUMNS), o);
    held[w] = 0;
    o += COLUMNS;
  }
  out.set(rows, o);
  const m: FromWorker = { type: "batch", names: fresh, rows: out, others, received };
  heldList = [];
  rows = [];
  fresh = [];
  others = [];
  received = 0;
  inFlight = true;
  lastPost = performance.now();
  scope.postMessage(m, [out.buffer]);
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "ack") {
    inFlight = false;
    schedule();
    return;
  }
  if (m.type === "full") {
    full = m.on;
    return;
  }
  if (m.type !== "start") {
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
    return;
  }
  if (watch !== null) {
    return;
  }
  full = m.full;
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
    onBatch: take,
  });
  watch.start();
};
