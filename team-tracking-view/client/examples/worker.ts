// A worker: connects its WebSocket, reports COUNT positions INTERVAL_MS
// apart along a line north of Berlin, prints and acknowledges the
// managers' messages, then closes. Run (Node 20):
//
//   node --experimental-websocket dist/examples/worker.js
//
// TRACKING_URL  the API: a gateway's http://host:8080/tracking/redis, or a replica's /tracking
// TEAM, WORKER  who reports (default team_one, w-ts)
// TOKEN         a worker token, if the service requires one
// COUNT         positions to send (default 20); INTERVAL_MS between them (default 100)
// WAIT_MESSAGES messages to wait for before closing (default 0), for at most WAIT_MS (default 30,000)
//
// It prints one line per thing that happens: "open", "sent N", "config 1s",
// "message ID BODY", "done sent=N messages=M".

import { connectWorker, type WorkerMessage } from "@teamtrack/client";

const env = process.env;
const base = env.TRACKING_URL ?? "http://127.0.0.1:8080/tracking/redis";
const team = env.TEAM ?? "team_one";
const worker = env.WORKER ?? "w-ts";
const count = Number(env.COUNT ?? 20);
const intervalMs = Number(env.INTERVAL_MS ?? 100);
const waitMessages = Number(env.WAIT_MESSAGES ?? 0);
const waitMs = Number(env.WAIT_MS ?? 30_000);

const messages: WorkerMessage[] = [];
let gotAll: () => void = () => {};
const allMessages = new Promise<void>((resolve) => (gotAll = resolve));
if (messages.length >= waitMessages) {
  gotAll();
}

const conn = connectWorker({
  baseURL: base,
  auth: env.TOKEN ?? null,
  onState: (state, reason) => console.log(reason ? `${state} ${reason}` : state),
  onConfig: (_ms, interval) => console.log(`config ${interval}`),
  onError: (e) => console.log(`refused ${e.code} ${e.message}`),
  onMessage: (m) => {
    console.log(`message ${m.id} ${JSON.stringify(m.body)}`);
    conn.ack(m.id); // or it comes again on the next connection
    messages.push(m);
    if (messages.length >= waitMessages) {
      gotAll();
    }
  },
});

for (let n = 1; n <= count; n++) {
  conn.sendPosition({
    id: `${worker}-${n}`,
    workerId: worker,
    team,
    latitude: Number((52.52 + n * 0.0001).toFixed(6)),
    longitude: 13.405,
    speed: 1.4,
    heading: 0,
  });
  console.log(`sent ${n}`);
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
let timer: ReturnType<typeof setTimeout> | undefined;
const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
await Promise.race([allMessages, timeout]);
clearTimeout(timer); // or node would wait for it before ending
await conn.flushed();
conn.close();
console.log(`done sent=${count} messages=${messages.length}`);
if (messages.length < waitMessages) {
  process.exitCode = 1;
}
