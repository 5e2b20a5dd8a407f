// A manager: watches a team's stream and prints what happens, until
// Ctrl-C or STOP_AFTER live positions. Run (Node 20):
//
//   node dist/examples/manager.js                       # Server-Sent Events
//   TRANSPORT=websocket node --experimental-websocket dist/examples/manager.js
//
// TRACKING_URL  the API: a gateway's http://host:8080/tracking/redis, or a replica's /tracking
// TEAM          the team (default team_one)
// TOKEN         a manager token, if the service requires one
// AFTER         resume after this stream id (no snapshot)
// STOP_AFTER    stop after this many positions with a stream id (live ones)
//
// Lines: "state open", "position WORKER LAT LNG ID", "status WORKER STATUS",
// "delivery MESSAGE WORKER STATE", "alert KIND WORKER", "mark ID", "reset REASON",
// and at the end "after ID": where a later run may resume (AFTER).

import { watchTeam, type StreamEvent } from "@teamtrack/client";

const env = process.env;
const stopAfter = Number(env.STOP_AFTER ?? 0);
let live = 0;

function show(ev: StreamEvent): string {
  switch (ev.type) {
    case "position": {
      const p = ev.position;
      return `position ${p.workerId} ${p.location.latitude} ${p.location.longitude} ${ev.id ?? "-"}`;
    }
    case "status":
      return `status ${ev.status.workerId} ${ev.status.status}`;
    case "delivery":
      return `delivery ${ev.delivery.messageId} ${ev.delivery.workerId} ${ev.delivery.state}`;
    case "alert":
      return `alert ${ev.alert.kind ?? "?"} ${ev.alert.workerId ?? "-"}`;
    case "mark":
      return `mark ${ev.id}`;
    case "reset":
      return `reset ${ev.reason}`;
  }
}

const watch = watchTeam({
  baseURL: env.TRACKING_URL ?? "http://127.0.0.1:8080/tracking/redis",
  team: env.TEAM ?? "team_one",
  transport: env.TRANSPORT === "websocket" ? "websocket" : "sse",
  after: env.AFTER,
  auth: env.TOKEN ?? null,
  onState: (info) => console.log(`state ${info.state}${info.reason ? ` ${info.reason}` : ""}${info.message ? `: ${info.message}` : ""}`),
  onEvent: (ev) => {
    console.log(show(ev));
    if (ev.type === "position" && ev.id !== undefined && stopAfter > 0 && ++live >= stopAfter) {
      stop();
    }
  },
});

function stop(): void {
  watch.stop();
  console.log(`after ${watch.after}`);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
