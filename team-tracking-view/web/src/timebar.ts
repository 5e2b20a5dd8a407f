// The time bar under the map: a time range (presets or from/to), the replay
// of the team over it (play, pause, speed, back to live) with the replay
// clock, one worker's trail over it from the history, and the export of
// that trail (or the team's) as GPX or GeoJSON.
//
// The range is entered in the browser's local time and sent as UTC. A
// preset (last 15 min, ...) is taken anew, up to now, each time a replay
// starts from its beginning, a trail is drawn or an export link is used.
// While replaying, the map shows the replayed team (main.ts holds the live
// one aside and shows it again on Live).

import type { StreamCredentials } from "./auth";
import { workerColour } from "./colour";
import { exportURL, fetchTrail, HistoryError, MAX_TRAIL_POINTS, EXPORT_LIMIT, type ExportFormat } from "./history";
import type { TrackingMap } from "./map";
import { isValidId, type Position } from "./position";
import { isSpeed, ReplayPlayer, type ReplayInfo } from "./replay";

export interface TimeBarElements {
  preset: HTMLSelectElement;
  from: HTMLInputElement;
  to: HTMLInputElement;
  play: HTMLButtonElement;
  speed: HTMLSelectElement;
  live: HTMLButtonElement;
  mode: HTMLElement;
  clock: HTMLElement;
  worker: HTMLInputElement;
  workers: HTMLDataListElement;
  showTrail: HTMLButtonElement;
  clearTrail: HTMLButtonElement;
  exportGPX: HTMLAnchorElement;
  exportGeoJSON: HTMLAnchorElement;
  message: HTMLElement;
  /** Over the map while replaying: what time it shows. */
  banner: HTMLElement;
}

/** The team whose history the bar reads. */
export interface TimeBarTarget {
  /** The team's path: /tracking/{strategy}/{team}. */
  base: string;
  team: string;
  credentials: StreamCredentials;
}

/** What the bar asks of the page. */
export interface TimeBarHost {
  /** A replay starts from its beginning: show an empty team that replayed positions fill. */
  enterReplay(): void;
  /** One replayed position. */
  replayPosition(p: Position): void;
  /** Back to live: show the live team again. */
  leaveReplay(): void;
}

export type TrailStatus = "none" | "loading" | "shown" | "empty" | "failed";

/** What the test hook tells of the replay. */
export interface ReplayHookInfo {
  mode: "live" | "replay";
  status: string;
  /** The replay clock (RFC 3339), null before the first position. */
  clock: string | null;
  from: string;
  to: string;
  speed: string;
  positions: number;
  requests: number;
  message: string;
}

/** What the test hook tells of the trail. */
export interface TrailHookInfo {
  status: TrailStatus;
  worker: string;
  /** Points of the polyline drawn (0: none). */
  points: number;
  pages: number;
  start: { lat: number; lng: number } | null;
  end: { lat: number; lng: number } | null;
  message: string;
}

const PRESETS: Record<string, (now: number) => [number, number]> = {
  "15m": (now) => [now - 15 * 60_000, now],
  "1h": (now) => [now - 60 * 60_000, now],
  today: (now) => {
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    return [midnight.getTime(), now];
  },
};

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A time for people: date and time, local. */
export function formatTime(ms: number): string {
  return dateTime.format(ms);
}

/** ms as a datetime-local value (local time, whole seconds). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A datetime-local value as ms (it is local time); null when empty or invalid. */
export function fromLocalInput(v: string): number | null {
  if (v === "") {
    return null;
  }
  const ms = new Date(v).getTime(); // a date-time without offset is local time
  return Number.isNaN(ms) ? null : ms;
}

export class TimeBar {
  private target: TimeBarTarget | null = null;
  private player: ReplayPlayer | null = null;
  private mode: "live" | "replay" = "live";
  private trailStatus: TrailStatus = "none";
  private trailWorker = "";
  private trailPages = 0;
  private trailAbort: AbortController | null = null;
  /** Bumped by every change of the export links: an older token lookup is dropped. */
  private exportsVersion = 0;
  private lastClockText = "";

  constructor(
    private readonly el: TimeBarElements,
    private readonly map: TrackingMap,
    private readonly host: TimeBarHost,
  ) {
    this.applyPreset();
    this.bind();
    this.renderControls();
  }

  /** Whether the map shows a replay. */
  get replaying(): boolean {
    return this.mode === "replay";
  }

  /** The replay clock (ms), while replaying and once a position came; else null. */
  get clock(): number | null {
    return this.mode === "replay" ? (this.player?.info.clock ?? null) : null;
  }

  /**
   * Another team is shown (or its credentials are known at last): the
   * replay stops, the trail goes, and the history is read from the new team.
   */
  setTarget(target: TimeBarTarget | null): void {
    this.player?.stop();
    this.trailAbort?.abort();
    this.map.clearHistoryTrail();
    this.trailStatus = "none";
    this.trailWorker = "";
    this.trailPages = 0;
    if (this.mode === "replay") {
      this.mode = "live";
      this.host.leaveReplay();
    }
    this.target = target;
    this.player =
      target === null
        ? null
        : new ReplayPlayer(target.base, target.team, target.credentials, {
            onPosition: (p) => this.host.replayPosition(p),
            onChange: (info) => this.onReplayChange(info),
          });
    this.say("");
    this.renderControls();
    void this.updateExports();
  }

  /** The workers to suggest for a trail (ids of the team). */
  setWorkers(ids: string[]): void {
    const options = this.el.workers.options;
    if (options.length === ids.length && ids.every((id, i) => options[i].value === id)) {
      return;
    }
    this.el.workers.replaceChildren(...ids.map((value) => Object.assign(document.createElement("option"), { value })));
  }

  /** A worker picked in the list: it becomes the trail's worker. */
  selectWorker(id: string): void {
    if (this.el.worker.value !== id) {
      this.el.worker.value = id;
      this.el.worker.setCustomValidity("");
      void this.updateExports();
    }
  }

  /** Updates the clock and the banner (a few times a second). */
  render(): void {
    const info = this.player?.info;
    let text = "";
    if (this.mode === "replay" && info !== undefined) {
      text = formatTime(info.clock ?? info.from);
    }
    if (text !== this.lastClockText) {
      this.lastClockText = text;
      this.el.clock.textContent = text;
      if (info !== undefined && info.clock !== null) {
        this.el.clock.setAttribute("datetime", new Date(info.clock).toISOString());
      } else {
        this.el.clock.removeAttribute("datetime");
      }
      this.renderBanner();
    }
  }

  replayHookInfo(): ReplayHookInfo {
    const info = this.player?.info;
    const iso = (ms: number | undefined): string => (ms ? new Date(ms).toISOString() : "");
    return {
      mode: this.mode,
      status: info?.status ?? "idle",
      clock: info?.clock == null ? null : new Date(info.clock).toISOString(),
      from: iso(info?.from),
      to: iso(info?.to),
      speed: info?.speed ?? this.el.speed.value,
      positions: info?.positions ?? 0,
      requests: info?.requests ?? 0,
      message: info?.message ?? "",
    };
  }

  trailHookInfo(): TrailHookInfo {
    const drawn = this.map.historyTrailInfo();
    return {
      status: this.trailStatus,
      worker: this.trailWorker,
      points: drawn?.points ?? 0,
      pages: this.trailPages,
      start: drawn?.start ?? null,
      end: drawn?.end ?? null,
      message: this.el.message.textContent ?? "",
    };
  }

  private bind(): void {
    const el = this.el;
    el.preset.addEventListener("change", () => {
      this.applyPreset();
      this.rangeChanged();
    });
    for (const input of [el.from, el.to]) {
      input.addEventListener("change", () => {
        el.preset.value = "custom";
        this.rangeChanged();
      });
    }
    el.play.addEventListener("click", () => this.playOrPause());
    el.speed.addEventListener("change", () => {
      const speed = el.speed.value;
      if (isSpeed(speed)) {
        this.player?.setSpeed(speed);
      }
    });
    el.live.addEventListener("click", () => this.goLive());
    el.worker.addEventListener("input", () => {
      const id = el.worker.value.trim();
      el.worker.setCustomValidity(id === "" || isValidId(id) ? "" : "1-64 characters: letters, digits, _ . : -");
      void this.updateExports();
    });
    el.worker.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        void this.showTrail();
      }
    });
    el.showTrail.addEventListener("click", () => void this.showTrail());
    el.clearTrail.addEventListener("click", () => {
      this.trailAbort?.abort();
      this.map.clearHistoryTrail();
      this.trailStatus = "none";
      this.say("");
      this.renderControls();
    });
    for (const a of [el.exportGPX, el.exportGeoJSON]) {
      // A preset means "up to now": bring the link up to date just before
      // it is used (a token lookup is quick once the stream has one).
      a.addEventListener("pointerenter", () => this.refreshExports());
      a.addEventListener("focus", () => this.refreshExports());
      a.addEventListener("click", (ev) => {
        if (!a.hasAttribute("href")) {
          ev.preventDefault();
          this.say(this.range() === null ? "Choose a range: To must be after From." : "History is not available yet.");
        }
      });
    }
  }

  /** The range in the inputs, or null (with a message) when it is not one. */
  private range(): [number, number] | null {
    const from = fromLocalInput(this.el.from.value);
    const to = fromLocalInput(this.el.to.value);
    if (from === null || to === null || to <= from) {
      return null;
    }
    return [from, to];
  }

  /** A preset chosen: fills from and to with it, up to now. */
  private applyPreset(): void {
    const preset = PRESETS[this.el.preset.value];
    if (preset === undefined) {
      return; // custom: the inputs stay
    }
    const now = Date.now();
    const [from, to] = preset(now);
    // Whole seconds, and `to` rounded up so that the latest position is in.
    this.el.from.value = toLocalInput(Math.floor(from / 1000) * 1000);
    this.el.to.value = toLocalInput(Math.ceil(to / 1000) * 1000 + 1000);
  }

  private rangeChanged(): void {
    const ok = this.range() !== null;
    this.el.to.setCustomValidity(ok ? "" : "To must be after From");
    void this.updateExports();
  }

  private refreshExports(): void {
    if (this.el.preset.value !== "custom") {
      this.applyPreset();
    }
    void this.updateExports();
  }

  /** Sets the export links for the range and worker (the whole team without one), with the token. */
  private async updateExports(): Promise<void> {
    const version = ++this.exportsVersion;
    const range = this.range();
    const worker = this.el.worker.value.trim();
    const target = this.target;
    const links: [HTMLAnchorElement, ExportFormat, string][] = [
      [this.el.exportGPX, "gpx", "GPX"],
      [this.el.exportGeoJSON, "geojson", "GeoJSON"],
    ];
    const whose = worker !== "" && isValidId(worker) ? worker : "";
    for (const [a, , name] of links) {
      a.setAttribute("aria-label", `Export ${whose === "" ? "the team's positions" : `the trail of ${whose}`} in this range as ${name} (at most ${EXPORT_LIMIT.toLocaleString()} positions)`);
    }
    if (range === null || target === null || (worker !== "" && whose === "")) {
      for (const [a] of links) {
        a.removeAttribute("href");
        a.setAttribute("aria-disabled", "true");
      }
      return;
    }
    let token: string | null = null;
    try {
      token = await target.credentials.token();
    } catch {
      // No token: the link is refused, and says why when followed.
    }
    if (version !== this.exportsVersion) {
      return;
    }
    for (const [a, format] of links) {
      a.href = exportURL(target.base, format, range[0], range[1], whose, token);
      a.removeAttribute("aria-disabled");
    }
  }

  private playOrPause(): void {
    const player = this.player;
    if (player === null) {
      this.say("Not connected yet: try again in a moment.");
      return;
    }
    if (player.active) {
      player.pause();
      return;
    }
    const speed = isSpeed(this.el.speed.value) ? this.el.speed.value : "10";
    const info = player.info;
    const range = this.range();
    // Paused on the same range: continue where it stopped.
    if (this.mode === "replay" && info.status === "paused" && range !== null && range[0] === info.from && range[1] === info.to) {
      player.resume(speed);
      return;
    }
    // Otherwise from the start of the range (a preset taken up to now).
    if (this.el.preset.value !== "custom") {
      this.applyPreset();
      void this.updateExports();
    }
    const fresh = this.range();
    if (fresh === null) {
      this.say("Choose a range: To must be after From.");
      this.el.to.reportValidity();
      return;
    }
    this.mode = "replay";
    this.host.enterReplay();
    player.start(fresh[0], fresh[1], speed);
  }

  private goLive(): void {
    if (this.mode === "live") {
      return;
    }
    this.player?.stop();
    this.mode = "live";
    this.host.leaveReplay();
    this.say("");
    this.renderControls();
  }

  private onReplayChange(info: ReplayInfo): void {
    switch (info.status) {
      case "ended":
        this.say(`Replay ended: ${info.positions.toLocaleString()} positions${info.clock === null ? " (none in this range)" : ""}.`);
        break;
      case "failed":
        this.say(info.message ?? "");
        // Nothing was shown: the live team is more use than an empty map.
        if (info.positions === 0 && this.mode === "replay") {
          this.mode = "live";
          this.host.leaveReplay();
        }
        break;
      case "paused":
        this.say(info.message ?? "");
        break;
      case "playing":
        this.say("");
        break;
    }
    this.renderControls();
  }

  private async showTrail(): Promise<void> {
    const worker = this.el.worker.value.trim();
    if (!isValidId(worker)) {
      this.el.worker.setCustomValidity(worker === "" ? "Choose a worker" : "1-64 characters: letters, digits, _ . : -");
      this.el.worker.reportValidity();
      return;
    }
    const target = this.target;
    if (target === null) {
      this.say("Not connected yet: try again in a moment.");
      return;
    }
    if (this.el.preset.value !== "custom") {
      this.applyPreset();
      void this.updateExports();
    }
    const range = this.range();
    if (range === null) {
      this.say("Choose a range: To must be after From.");
      this.el.to.reportValidity();
      return;
    }
    this.trailAbort?.abort();
    const abort = new AbortController();
    this.trailAbort = abort;
    this.map.clearHistoryTrail();
    this.trailStatus = "loading";
    this.trailWorker = worker;
    this.trailPages = 0;
    this.renderControls();
    this.say(`Loading the trail of ${worker}…`);
    try {
      const token = await target.credentials.token();
      const trail = await fetchTrail(target.base, worker, range[0], range[1], token, abort.signal, (pages, points) => {
        if (!abort.signal.aborted) {
          this.trailPages = pages;
          this.say(`Loading the trail of ${worker}… ${points.toLocaleString()} positions`);
        }
      });
      if (abort.signal.aborted) {
        return;
      }
      this.trailPages = trail.pages;
      const n = trail.points.length;
      if (n === 0) {
        this.trailStatus = "empty";
        this.say(`No positions of ${worker} in this range.`);
      } else {
        this.map.showHistoryTrail(worker, workerColour(worker), trail.points, formatTime);
        this.trailStatus = "shown";
        const first = trail.points[0].time;
        const last = trail.points[n - 1].time;
        this.say(
          `Trail of ${worker}: ${n.toLocaleString()} positions, ${formatTime(first)} to ${formatTime(last)}` +
            (trail.truncated ? ` (the first ${MAX_TRAIL_POINTS.toLocaleString()}: choose a shorter range for the rest)` : "") +
            (n > EXPORT_LIMIT ? `; an export holds the first ${EXPORT_LIMIT.toLocaleString()}` : "") +
            ".",
        );
      }
    } catch (err) {
      if (abort.signal.aborted) {
        return;
      }
      this.trailStatus = "failed";
      this.say(err instanceof HistoryError || err instanceof Error ? err.message : String(err));
    } finally {
      if (this.trailAbort === abort) {
        this.trailAbort = null;
      }
      this.renderControls();
    }
  }

  private say(text: string): void {
    if (this.el.message.textContent !== text) {
      this.el.message.textContent = text;
    }
  }

  /** Labels, states and the mode indicator after a change. */
  private renderControls(): void {
    const el = this.el;
    const info = this.player?.info;
    const active = this.player?.active ?? false;
    const resumable = this.mode === "replay" && info?.status === "paused";
    el.play.textContent = active ? "Pause" : resumable ? "Resume" : "Play";
    el.play.setAttribute("aria-label", active ? "Pause the replay" : resumable ? "Resume the replay" : "Replay the team over the range");
    el.play.dataset.state = active ? "playing" : "stopped";
    el.live.disabled = this.mode === "live";
    el.clearTrail.disabled = this.trailStatus === "none";
    el.showTrail.disabled = this.trailStatus === "loading";
    const status = this.mode === "replay" ? (info?.status ?? "idle") : "live";
    el.mode.textContent = this.mode === "live" ? "Live" : `Replay: ${statusText(status)}`;
    el.mode.dataset.mode = this.mode;
    document.body.dataset.mode = this.mode;
    document.body.dataset.replay = status;
    this.lastClockText = ""; // the clock's text follows
    this.render();
    this.renderBanner();
  }

  private renderBanner(): void {
    const info = this.player?.info;
    const banner = this.el.banner;
    if (this.mode !== "replay" || info === undefined) {
      banner.hidden = true;
      return;
    }
    const speed = info.speed === "max" ? "max speed" : `${info.speed}×`;
    const text = `Replay · ${this.lastClockText} · ${info.status === "playing" ? speed : statusText(info.status)}`;
    if (banner.textContent !== text) {
      banner.textContent = text;
    }
    banner.hidden = false;
  }
}

function statusText(s: string): string {
  switch (s) {
    case "connecting":
      return "starting…";
    case "playing":
      return "playing";
    case "paused":
      return "paused";
    case "ended":
      return "ended";
    case "failed":
      return "failed";
    default:
      return s;
  }
}
