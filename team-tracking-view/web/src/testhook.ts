// A small, stable surface for automated browser tests (see browsertest/ in
// the Go module): window.__tracking. It reads the view's state; it changes
// nothing. The DOM carries the same facts as data attributes:
// #worker-count[data-count], #rate[data-rate], body[data-connection],
// body[data-team], body[data-strategy], body[data-tiles], body[data-auth],
// body[data-mode] ("live" | "replay"), body[data-replay] (the replay's status),
// body[data-tab] (the side panel's tab), body[data-fence-mode] (the fence
// editor's mode), body[data-push] (the notifications toggle's state),
// #workers li[data-status][data-reason][data-presence] ("stream" or "age"),
// #alerts li[data-alert-id][data-kind], #fences li[data-fence-id],
// #messages li[data-message-id][data-mine] (with .message-state[data-state][data-count]),
// #workers li .worker-msg[data-state] (the worker's latest message's state),
// #message-form[data-to] (while open), #worker-card[data-worker] (the
// selected worker's card, while open), #workers[data-shown] (rows matching
// the search), #workers li[aria-current] (the selected worker),
// body[data-panel] ("open" | "collapsed").

import type { AlertHookInfo } from "./alerts";
import type { BasemapInfo } from "./basemap";
import type { CardHookInfo } from "./card";
import type { FenceHookInfo } from "./fenceeditor";
import type { LayoutInfo } from "./markers";
import type { MessageFormHookInfo, MessageHookInfo } from "./messages";
import type { PushHookInfo } from "./push";
import type { Status } from "./state";
import type { ReplayHookInfo, TrailHookInfo } from "./timebar";

export interface TrackingHook {
  /** Whether the position stream is open now. */
  readonly connected: boolean;
  /** "connecting" | "open" | "waiting" | "stopped" | "unauthorized". */
  readonly connection: string;
  /** The gateway's auth mode ("none", "dev", "jwt"); "" until it is known. */
  readonly authMode: string;
  /** What the connection indicator says. */
  readonly connectionText: string;
  readonly strategy: string;
  readonly team: string;
  /**
   * "live", or "replay" while the time bar replays: then the workers and
   * markers below are the replayed ones (the live stream stays open).
   */
  readonly mode: string;
  /**
   * The replay: status ("idle" | "connecting" | "playing" | "paused" |
   * "ended" | "failed"), clock (fix time of the latest replayed position),
   * range, speed, positions received and replay streams opened since it
   * started from the beginning of its range, and the message shown.
   */
  replay(): ReplayHookInfo;
  /**
   * The worker's trail from the history: status ("none" | "loading" |
   * "shown" | "empty" | "failed"), worker, points of the polyline drawn,
   * history pages read, its start and end markers, the time bar's message.
   */
  trail(): TrailHookInfo;
  /** Workers with a known position in the team shown. */
  workerCount(): number;
  /** Markers on the map (equals workerCount once a frame has run). */
  markerCount(): number;
  /** Where each worker's marker is drawn now, by worker id. */
  markerPositions(): Record<string, { lat: number; lng: number }>;
  /** Worker ids, sorted. */
  workerIds(): string[];
  /** Stream connections that opened since the team was chosen. */
  connections(): number;
  /** Live position records received since the team was chosen (before the stream worker keeps each worker's newest). */
  received(): number;
  /**
   * Live position records applied to the team's state since it was chosen:
   * from the stream's Web Worker each worker's newest per batch (fewer than
   * received when a worker reports more often than batches go), every one
   * while trails are on or with ?stream=main.
   */
  applied(): number;
  /** Whether map tiles are in use (false: coordinate grid only). */
  tilesActive(): boolean;
  /** The map's zoom and centre. */
  mapView(): { zoom: number; lat: number; lng: number };
  /**
   * Each marker's status as drawn ("online" | "idle" | "offline"): the
   * presence status from the stream, else judged by the last position's age.
   * Markers are painted on a canvas: this is their colour class.
   */
  markerStatuses(): Record<string, Status>;
  /** The live team's presence statuses from the stream, by worker. */
  presence(): Record<string, { status: string; reason: string; since: string }>;
  /** The alerts in the panel, newest first (de-duplicated by id). */
  alerts(): AlertHookInfo[];
  /** Why the alerts could not be read ("" when they could). */
  alertsMessage(): string;
  /** Alerts that arrived while the alerts tab was not shown. */
  alertsUnseen(): number;
  /** The side panel's tab: "workers" | "alerts" | "fences" | "messages". */
  readonly tab: string;
  /** The team's geofences and the editor's state (mode "idle" | "drawing" | "new" | "edit"). */
  fences(): FenceHookInfo;
  /** The shape in the fence form (a new one or the one edited), null when none. */
  fenceEditShape(): { points: { lat: number; lng: number }[]; radius: number } | null;
  /** The notifications toggle: state ("unsupported" | "off" | "busy" | "on" | "denied" | "failed"), message, endpoint, subscription id. */
  push(): PushHookInfo;
  /**
   * The messages to workers in the Messages tab, newest first: id, text,
   * to ("all" or the workers), mine (sent by this page), sentAt, total
   * recipients (online and queued when this page sent it), recipients per
   * state (those without an event yet count as sent) and each recipient's
   * state, as the stream's delivery events (and GET .../messages/{id}) say.
   */
  messages(): MessageHookInfo[];
  /** The message form: open, to ("all" or a worker), sending, its error, and what the last send did. */
  messageForm(): MessageFormHookInfo;
  /** Why messages are not available ("" when they are). */
  messagesMessage(): string;
  /**
   * Other teams shown on the map beside the team: team, hue of its colour
   * family (the team's own is FAMILY_HUES[0], 215), workers, stream state.
   * Their markers are keyed "team/worker" in markerPositions() and the rest.
   */
  teams(): { team: string; hue: number; workers: number; connection: string }[];
  /** Each marker's colour (CSS), by key. */
  markerColours(): Record<string, string>;
  /** The selected worker (null: none). */
  selected(): string | null;
  /** The worker the map keeps centred (null: none). */
  following(): string | null;
  /**
   * What the marker canvas drew last, in container px: the zoom, workers
   * drawn on their own, clusters (centre, count, ids), the label boxes
   * (none overlaps another), workers outside the canvas, the selected one.
   */
  layout(): LayoutInfo;
  /** The selected worker's card as shown. */
  card(): CardHookInfo;
  /** The bundled basemap (null while map tiles are in use): status, land polygons, tiles drawn. */
  basemap(): BasemapInfo | null;
  /** What the basemap shows at a place in view: "land", "sea", "" (no tile), or another colour. */
  basemapAt(lat: number, lng: number): string;
  /** Where a place is on the page (CSS pixels of the viewport), for pointer input. */
  pagePoint(lat: number, lng: number): { x: number; y: number };
}

declare global {
  interface Window {
    __tracking?: TrackingHook;
  }
}

export function installTestHook(hook: TrackingHook): void {
  window.__tracking = hook;
}
