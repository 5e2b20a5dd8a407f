// Wires the view together: configuration from the URL, the gateway's auth
// mode, the stream of the chosen team (positions, presence statuses,
// alerts), the state, the map (updated once per animation frame), the side
// panel (workers, rendered at most four times a second; alerts; the fence
// editor; messages to workers and their delivery states), the
// notifications toggle and the time bar (replay, trails and exports from
// the history).
//
// While a replay is shown the live stream stays open: its positions keep
// updating the live state, which is not drawn; "Live" shows it again at once.
//
// Other teams can be shown on the map beside the team (the "Also show"
// toggles, the `also` parameter): each has its own stream and state, its
// markers keyed "team/worker", every team in its own colour family. The
// panel, time bar, alerts, fences and messages stay the team's.

import { alertOf, type Alert } from "./alertformat";
import { AlertsPanel } from "./alerts";
import { loadAuth, type Auth, type StreamCredentials } from "./auth";
import { WorkerCard } from "./card";
import { FAMILY_HUES, familyColour, workerColour } from "./colour";
import { alsoTeams, defaults, fromURL, isStrategy, MAX_ALSO, toSearch, type ViewConfig } from "./config";
import { FenceEditor } from "./fenceeditor";
import { TrackingMap } from "./map";
import { MessagesPanel } from "./messages";
import { Panel } from "./panel";
import { isValidId, type Position } from "./position";
import { PushToggle } from "./push";
import { describeStatus, statusOf, TeamState, type Presence, type Status, type Worker } from "./state";
import { TeamStream, streamURL, type ConnectionInfo } from "./stream";
import { installTestHook } from "./testhook";
import { TimeBar } from "./timebar";

/** The panel re-renders at this pace (at most 4 times a second). */
const PANEL_INTERVAL_MS = 250;
/**
 * For this long after the first marker appears, new markers (the rest of
 * the snapshot) fit the map to the team again, unless the user moved it.
 */
const AUTO_FIT_WINDOW_MS = 1_500;

/** What the connection indicator says. */
function connectionLabel(info: ConnectionInfo, now: number, replaying: boolean): string {
  switch (info.state) {
    case "open":
      return replaying ? "Live stream held while replaying" : "Live";
    case "connecting":
      return info.failures > 0 ? `Reconnecting (attempt ${info.failures + 1})…` : "Connecting…";
    case "waiting": {
      if (info.retryAt === undefined) {
        return "Disconnected: checking…";
      }
      const secs = Math.max(0, Math.ceil((info.retryAt - now) / 1000));
      if (info.message !== undefined) {
        return `${info.message}: retrying in ${secs}s`;
      }
      return info.failures > 0 ? `Disconnected: retrying in ${secs}s` : "Reconnecting…";
    }
    case "stopped":
      return "Stopped";
    case "unauthorized":
      return info.message ?? "Not authorised";
  }
}

type Tab = "workers" | "alerts" | "fences" | "messages";

/** Another team shown on the map beside the team. */
interface Overlay {
  readonly team: string;
  hue: number;
  readonly state: TeamState;
  stream: TeamStream | null;
  /** The status each of its markers is drawn with. */
  readonly statuses: Map<string, Status>;
}

/** The message the service worker sends a window when one of its notifications is clicked (sw/sw.ts). */
const SW_ALERT_MESSAGE = "tracking-alert";

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) {
    throw new Error(`team-tracking-view: #${id} is missing from index.html`);
  }
  return el as T;
}

class App {
  private readonly base: ViewConfig;
  private cfg: ViewConfig;
  /** The live team: what the stream says. */
  private state: TeamState;
  /** The replayed team, while the time bar replays; null when live. */
  private replayState: TeamState | null = null;
  private stream: TeamStream | null = null;
  /** How the gateway authenticates; null until GET /auth/config answered. */
  private auth: Auth | null = null;
  private readonly map: TrackingMap;
  private readonly panel: Panel;
  private readonly timebar: TimeBar;
  private readonly alerts: AlertsPanel;
  private readonly fences: FenceEditor;
  private readonly push: PushToggle;
  private readonly messages: MessagesPanel;
  private readonly card: WorkerCard;
  /** Other teams shown on the map, in the order of their families. */
  private readonly overlays = new Map<string, Overlay>();
  private readonly teamsBox = byId<HTMLFieldSetElement>("teams");
  private readonly teamsList = byId<HTMLElement>("teams-list");
  private teamsKey = "";
  /** The team's API path and credentials, once its stream started. */
  private target: { base: string; team: string; credentials: StreamCredentials } | null = null;
  private tab: Tab = "workers";
  /** Workers in the live state when the trail's suggestions were last set. */
  private suggestedWorkers = -1;
  private frameRequested = false;
  /** Frame time until which new markers re-fit the map; 0: no marker yet. */
  private autoFitUntil = 0;
  private userMovedMap = false;

  private readonly form = byId<HTMLFormElement>("watch-form");
  private readonly strategyInput = byId<HTMLSelectElement>("strategy");
  private readonly teamInput = byId<HTMLInputElement>("team");
  private readonly connection = byId<HTMLElement>("connection");
  private readonly connectionText = byId<HTMLElement>("connection-text");
  private readonly notice = byId<HTMLElement>("map-notice");
  private readonly trailsInput = byId<HTMLInputElement>("trails");
  private readonly labelsInput = byId<HTMLInputElement>("labels");

  constructor() {
    this.base = defaults(document);
    this.cfg = fromURL(location.search, this.base);
    this.state = new TeamState(this.cfg.team);

    this.messages = new MessagesPanel({
      form: byId("message-form"),
      formTitle: byId("message-form-title"),
      text: byId("message-text"),
      ttl: byId("message-ttl"),
      send: byId("message-send"),
      cancel: byId("message-cancel"),
      error: byId("message-error"),
      status: byId("message-status"),
      teamButtons: [byId("message-team"), byId("messages-team")],
      list: byId("messages"),
      empty: byId("messages-empty"),
      message: byId("messages-message"),
    });
    this.map = new TrackingMap(byId("map"), {
      tiles: this.cfg.tiles,
      attribution: this.cfg.attribution,
      labels: this.cfg.labels,
      trails: this.cfg.trails,
      onTilesUnavailable: () => this.showNotice("Map tiles could not be loaded: showing the bundled world map and a coordinate grid."),
      // Presence statuses are the live team's; a replayed one is judged by age.
      statusText: (id, status) => describeStatus(status, this.replayState === null ? this.state.presence.get(id) : undefined),
      messageText: (id) => this.messages.latestFor(id)?.title ?? "",
      onSelect: (id) => this.select(id, false),
      onFollowStopped: () => this.card.setFollow(false),
    });
    this.card = new WorkerCard(
      {
        card: byId("worker-card"),
        title: byId("card-title"),
        close: byId("card-close"),
        status: byId("card-status"),
        fix: byId("card-fix"),
        speed: byId("card-speed"),
        heading: byId("card-heading"),
        accuracy: byId("card-accuracy"),
        follow: byId("card-follow"),
      },
      () => this.select(null, false),
      (on) => this.map.setFollow(on),
    );
    document.body.dataset.tiles = this.cfg.tiles === "none" ? "none" : "tiles";

    this.panel = new Panel(
      {
        count: byId("worker-count"),
        rate: byId("rate"),
        online: byId("count-online"),
        idle: byId("count-idle"),
        offline: byId("count-offline"),
        list: byId<HTMLOListElement>("workers"),
        empty: byId("empty"),
        search: byId("worker-search"),
        sort: byId("worker-sort"),
        matches: byId("worker-matches"),
      },
      (id) => this.select(id, true),
      { latestFor: (id) => this.messages.latestFor(id), open: (id, opener) => this.messages.open(id, opener) },
    );
    this.timebar = new TimeBar(
      {
        preset: byId("range-preset"),
        from: byId("range-from"),
        to: byId("range-to"),
        play: byId("replay-play"),
        speed: byId("replay-speed"),
        live: byId("replay-live"),
        mode: byId("mode"),
        clock: byId("replay-clock"),
        worker: byId("trail-worker"),
        workers: byId("worker-suggestions"),
        showTrail: byId("trail-show"),
        clearTrail: byId("trail-clear"),
        exportGPX: byId("export-gpx"),
        exportGeoJSON: byId("export-geojson"),
        message: byId("timebar-message"),
        banner: byId("replay-banner"),
      },
      this.map,
      {
        enterReplay: () => this.showState((this.replayState = new TeamState(this.cfg.team))),
        replayPosition: (p) => this.onReplayPosition(p),
        leaveReplay: () => {
          this.replayState = null;
          this.showState(this.state);
        },
      },
    );

    this.alerts = new AlertsPanel(
      { list: byId("alerts"), empty: byId("alerts-empty"), message: byId("alerts-message"), badge: byId("alerts-unseen") },
      (a) => this.showAlert(a),
    );
    this.fences = new FenceEditor(this.map.map, {
      drawCircle: byId("fence-draw-circle"),
      drawPolygon: byId("fence-draw-polygon"),
      hint: byId("fence-hint"),
      form: byId("fence-form"),
      formTitle: byId("fence-form-title"),
      name: byId("fence-name"),
      dwell: byId("fence-dwell"),
      shape: byId("fence-shape"),
      schedule: byId("fence-schedule"),
      save: byId("fence-save"),
      cancel: byId("fence-cancel"),
      remove: byId("fence-delete"),
      error: byId("fence-error"),
      list: byId("fences"),
      empty: byId("fences-empty"),
    });
    this.push = new PushToggle({ toggle: byId("notify"), message: byId("notify-message") });

    this.bindControls();
    this.bindTabs();
    this.installHook();
    window.setInterval(() => this.renderPanel(), PANEL_INTERVAL_MS);
    this.watch(this.cfg, "replace");
    // The stream starts once the auth mode is known (the page URL is read
    // before watch() rewrites it, though it keeps access_token anyway).
    void loadAuth(location.search).then((auth) => {
      this.auth = auth;
      document.body.dataset.auth = auth.mode;
      this.startStream();
      for (const ov of this.overlays.values()) {
        this.startOverlay(ov);
      }
    });
    this.teamsList.addEventListener("change", () => {
      const also = [...this.teamsList.querySelectorAll<HTMLInputElement>("input[data-team]")].filter((i) => i.checked).map((i) => i.dataset.team!);
      this.cfg = { ...this.cfg, also: alsoTeams(also.join(","), this.cfg.team) };
      window.history.replaceState(null, "", toSearch(this.cfg, this.base, location.search));
      this.setOverlays(this.cfg.also);
    });
  }

  /**
   * Selects a worker (null: none): ringed on the map, its card open, its
   * row marked, picked for a trail; from the list (centre) the map also
   * centres on it.
   */
  private select(id: string | null, centre: boolean): void {
    this.map.select(id);
    this.panel.setSelected(id);
    if (this.card.shown !== id) {
      this.card.open(id);
    }
    if (id !== null) {
      if (centre) {
        this.map.focus(id, false);
      }
      if (!id.includes("/")) {
        this.timebar.selectWorker(id); // trails are of the team's workers
      }
    }
    this.renderCard(Date.now());
  }

  private renderCard(now: number): void {
    const id = this.card.shown;
    if (id === null) {
      return;
    }
    let w: Worker | undefined;
    let presence: Presence | undefined;
    let at = now;
    const slash = id.indexOf("/");
    if (slash >= 0) {
      // Another team's worker: live.
      const ov = this.overlays.get(id.slice(0, slash));
      w = ov?.state.workers.get(id.slice(slash + 1));
      presence = ov?.state.presence.get(id.slice(slash + 1));
    } else {
      const state = this.shown;
      w = state.workers.get(id);
      presence = this.replayState === null ? state.presence.get(id) : undefined;
      at = this.replayState === null ? now : (this.timebar.clock ?? now);
    }
    this.card.render(w, w === undefined ? "offline" : statusOf(w, at, presence), presence, at);
  }

  /**
   * Shows these other teams beside the team (in this order: their colour
   * families), stopping the streams of those no longer shown.
   */
  private setOverlays(teams: string[]): void {
    for (const [team, ov] of this.overlays) {
      if (!teams.includes(team)) {
        ov.stream?.stop();
        this.overlays.delete(team);
        this.map.removeWhere(`${team}/`);
      }
    }
    for (const team of teams) {
      if (!this.overlays.has(team)) {
        const ov: Overlay = { team, hue: 0, state: new TeamState(team), stream: null, statuses: new Map() };
        this.overlays.set(team, ov);
        this.startOverlay(ov);
      }
    }
    this.recolour();
    this.renderTeams();
    this.requestFrame();
  }

  /** Opens the stream of another team, once the auth mode is known. */
  private startOverlay(ov: Overlay): void {
    if (this.auth === null || ov.stream !== null) {
      return;
    }
    ov.stream = new TeamStream(
      this.cfg.strategy,
      ov.team,
      {
        onPosition: (p) => {
          if (this.overlays.get(ov.team) !== ov) {
            return;
          }
          const now = Date.now();
          if (ov.state.apply(p, now)) {
            this.requestFrame();
          }
        },
        onConflated: (n) => ov.state.count(n, Date.now()),
        onStatus: (s) => ov.state.applyStatus(s),
        onStateChange: () => this.renderTeams(),
      },
      this.auth.credentials(ov.team),
      this.cfg.trails,
    );
    ov.stream.start();
  }

  /**
   * Colour families: with other teams shown, the team's workers are shades
   * of blue and each other team's of its own hue; alone, every worker has
   * its own colour.
   */
  private recolour(): void {
    const alone = this.overlays.size === 0;
    const primary = alone ? workerColour : (id: string): string => familyColour(id, FAMILY_HUES[0]);
    this.state.setColours(primary);
    this.replayState?.setColours(primary);
    let i = 1;
    const hues = new Map<string, number>();
    if (!alone) {
      hues.set("", FAMILY_HUES[0]);
    }
    for (const ov of this.overlays.values()) {
      const hue = FAMILY_HUES[i++ % FAMILY_HUES.length];
      ov.hue = hue;
      hues.set(ov.team, hue);
      ov.state.setColours((id) => familyColour(id, hue));
    }
    this.map.setTeamHues(hues);
  }

  /** The "Also show" toggles: the configured teams and those shown, but the team itself. */
  private renderTeams(): void {
    const options = [...new Set([...this.base.teams, ...this.cfg.also])].filter((t) => t !== this.cfg.team);
    const key = options.join(",");
    if (key !== this.teamsKey) {
      this.teamsKey = key;
      this.teamsList.replaceChildren(
        ...options.map((team) => {
          const label = document.createElement("label");
          label.className = "team-toggle";
          label.dataset.team = team;
          const input = Object.assign(document.createElement("input"), { type: "checkbox" });
          input.dataset.team = team;
          const swatch = Object.assign(document.createElement("span"), { className: "team-swatch" });
          swatch.setAttribute("aria-hidden", "true");
          const count = Object.assign(document.createElement("span"), { className: "team-count" });
          label.append(input, swatch, document.createTextNode(team), count);
          return label;
        }),
      );
    }
    this.teamsBox.hidden = options.length === 0;
    for (const label of this.teamsList.querySelectorAll<HTMLLabelElement>("label[data-team]")) {
      const ov = this.overlays.get(label.dataset.team!);
      const input = label.querySelector("input")!;
      input.checked = ov !== undefined;
      // At most MAX_ALSO other teams at once.
      input.disabled = ov === undefined && this.overlays.size >= MAX_ALSO;
      label.style.setProperty("--c", ov === undefined ? "transparent" : `hsl(${ov.hue} 70% 45%)`);
      const state = ov?.stream?.info.state;
      const text = ov === undefined ? "" : state === "open" ? `${ov.state.workers.size}` : (state ?? "");
      const count = label.querySelector<HTMLElement>(".team-count")!;
      if (count.textContent !== text) {
        count.textContent = text;
      }
      label.title = ov === undefined ? `Show ${label.dataset.team} on the map too` : `${label.dataset.team}: ${ov.state.workers.size} workers (${state ?? "not connected"})`;
    }
  }

  /** Shows a team: stops the old stream, clears the map, opens the new one. */
  private watch(cfg: ViewConfig, history: "push" | "replace" | "none"): void {
    this.stream?.stop();
    this.stream = null;
    for (const ov of this.overlays.values()) {
      ov.stream?.stop();
    }
    this.overlays.clear();
    cfg = { ...cfg, also: cfg.also.filter((t) => t !== cfg.team) };
    this.cfg = cfg;
    this.state = new TeamState(cfg.team);
    this.timebar.setTarget(null); // back to live, no trail: the new team's once the stream starts
    this.replayState = null;
    this.suggestedWorkers = -1;
    this.map.clear();
    this.panel.clear();
    this.card.open(null);
    this.target = null;
    this.alerts.clear();
    this.fences.setTarget(null);
    this.push.setTarget(null);
    this.messages.setTarget(null);
    this.autoFitUntil = 0;
    this.userMovedMap = false;

    this.strategyInput.value = cfg.strategy;
    this.teamInput.value = cfg.team;
    this.trailsInput.checked = cfg.trails;
    this.labelsInput.checked = cfg.labels;
    this.map.setTrails(cfg.trails);
    this.map.setLabels(cfg.labels);
    this.teamInput.setCustomValidity("");
    document.body.dataset.strategy = cfg.strategy;
    document.body.dataset.team = cfg.team;
    document.title = `${cfg.team} (${cfg.strategy}) · Team tracking`;
    const search = toSearch(cfg, this.base, location.search);
    if (history !== "none" && search !== location.search) {
      window.history[history === "push" ? "pushState" : "replaceState"](null, "", search);
    }

    this.startStream();
    this.setOverlays(cfg.also);
    this.renderPanel();
  }

  /** Opens the stream of the team shown, once the auth mode is known. */
  private startStream(): void {
    if (this.auth === null) {
      return;
    }
    this.stream?.stop();
    const state = this.state;
    const cfg = this.cfg;
    // Each team gets its own credentials (a dev token is for one team),
    // which its stream and its history requests share.
    const credentials: StreamCredentials = this.auth.credentials(cfg.team);
    this.stream = new TeamStream(
      cfg.strategy,
      cfg.team,
      {
        onPosition: (p) => this.onPosition(state, p),
        onConflated: (n) => state.count(n, Date.now()),
        onStatus: (s) => {
          if (state === this.state) {
            state.applyStatus(s); // the panel and the markers follow at its next render
          }
        },
        onAlert: (a) => {
          if (state === this.state) {
            this.alerts.addFromStream(a);
          }
        },
        onDelivery: (d) => {
          if (state === this.state) {
            this.messages.addFromStream(d); // drawn at the next render
          }
        },
        onReset: () => {
          // The stream could not resume: alerts raised meanwhile are read again.
          if (state === this.state && this.target !== null) {
            void this.alerts.load(this.target.base, this.target.credentials);
          }
        },
        onStateChange: (info) => this.showConnection(info),
      },
      credentials,
      cfg.trails,
    );
    this.stream.start();
    const target = { base: streamURL(cfg.strategy, cfg.team), team: cfg.team, credentials };
    this.target = target;
    this.timebar.setTarget(target);
    this.fences.setTarget(target);
    this.push.setTarget(target);
    this.messages.setTarget(target);
    void this.alerts.load(target.base, credentials);
  }

  /** Shows where an alert happened: pans the map there, or to its worker when it has no place. */
  private showAlert(a: Alert): void {
    if (a.lat !== undefined && a.lng !== undefined) {
      this.map.pulse(a.lat, a.lng);
    } else {
      this.map.focus(a.workerId);
    }
  }

  /** The side panel's tabs: click, or arrow keys between them (a WAI-ARIA tab list). */
  private bindTabs(): void {
    this.selectTab(this.tab);
    const tabs = [...document.querySelectorAll<HTMLButtonElement>('.tabs [role="tab"]')];
    for (const tab of tabs) {
      tab.addEventListener("click", () => this.selectTab(tab.dataset.tab as Tab));
      tab.addEventListener("keydown", (ev) => {
        const i = tabs.indexOf(tab);
        const next = ev.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : ev.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
        if (next !== null) {
          ev.preventDefault();
          this.selectTab(next.dataset.tab as Tab);
          next.focus();
        }
      });
    }
  }

  private selectTab(tab: Tab): void {
    this.tab = tab;
    for (const el of document.querySelectorAll<HTMLButtonElement>('.tabs [role="tab"]')) {
      const on = el.dataset.tab === tab;
      el.setAttribute("aria-selected", String(on));
      el.tabIndex = on ? 0 : -1;
      byId(`panel-${el.dataset.tab}`).hidden = !on;
    }
    document.body.dataset.tab = tab;
    this.alerts.setVisible(tab === "alerts");
  }

  /** The team the map and the panel show: the replayed one while replaying, else the live one. */
  private get shown(): TeamState {
    return this.replayState ?? this.state;
  }

  /** Shows state on the map and in the panel, from scratch. */
  private showState(state: TeamState): void {
    const selected = this.map.selected;
    this.map.clear();
    this.panel.clear();
    this.map.select(selected);
    this.panel.setSelected(selected);
    this.card.setFollow(false);
    for (const ov of this.overlays.values()) {
      ov.statuses.clear();
      ov.state.markAllDirty();
    }
    this.autoFitUntil = 0;
    state.markAllDirty();
    this.requestFrame();
    this.renderPanel();
  }

  private onReplayPosition(p: Position): void {
    if (this.replayState?.apply(p, Date.now())) {
      this.requestFrame();
    }
  }

  private onPosition(state: TeamState, p: Position): void {
    if (state !== this.state) {
      return; // a late event of a team no longer shown
    }
    const now = Date.now();
    // While a replay is shown, the live state is kept up to date, not drawn.
    if (state.apply(p, now) && this.replayState === null) {
      this.requestFrame();
    }
  }

  private requestFrame(): void {
    if (!this.frameRequested) {
      this.frameRequested = true;
      window.requestAnimationFrame(this.onFrame);
    }
  }

  /** Applies the changed workers to the map and advances the animations. */
  private readonly onFrame = (t: number): void => {
    this.frameRequested = false;
    let added = false;
    for (const w of this.shown.takeDirty()) {
      added = this.map.update(w, t) || added;
    }
    for (const ov of this.overlays.values()) {
      for (const w of ov.state.takeDirty()) {
        added = this.map.update(w, t, `${ov.team}/${w.id}`) || added;
      }
    }
    if (added && !this.userMovedMap) {
      if (this.autoFitUntil === 0) {
        this.autoFitUntil = t + AUTO_FIT_WINDOW_MS;
      }
      if (t <= this.autoFitUntil) {
        this.map.fitToTeam(false);
      }
    }
    if (this.map.frame(t)) {
      this.requestFrame();
    }
  };

  private renderPanel(): void {
    const now = Date.now();
    // A replayed worker's age and status are as of the replay clock.
    const changes = this.panel.render(this.shown, this.replayState === null ? now : (this.timebar.clock ?? now));
    for (const ov of this.overlays.values()) {
      for (const w of ov.state.workers.values()) {
        const status = statusOf(w, now, ov.state.presence.get(w.id));
        if (ov.statuses.get(w.id) !== status) {
          ov.statuses.set(w.id, status);
          changes.push([`${ov.team}/${w.id}`, status]);
        }
      }
    }
    if (changes.length > 0) {
      this.map.setStatuses(changes);
    }
    if (this.overlays.size > 0) {
      this.renderTeams();
    }
    this.messages.render();
    this.renderCard(now);
    this.renderConnection(now);
    this.timebar.render();
    if (this.state.workers.size !== this.suggestedWorkers) {
      this.suggestedWorkers = this.state.workers.size;
      this.timebar.setWorkers([...this.state.workers.keys()].sort(collator.compare));
    }
  }

  private showConnection(info: ConnectionInfo): void {
    this.connection.dataset.state = info.state;
    document.body.dataset.connection = info.state;
    this.renderConnection(Date.now());
  }

  private renderConnection(now: number): void {
    const info = this.stream?.info;
    if (info === undefined) {
      return;
    }
    const text = connectionLabel(info, now, this.timebar.replaying);
    if (this.connectionText.textContent !== text) {
      this.connectionText.textContent = text;
    }
    const title = `${streamURL(this.cfg.strategy, this.cfg.team)} (${info.state})${info.message ? `: ${info.message}` : ""}`;
    if (this.connection.title !== title) {
      this.connection.title = title;
    }
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  private bindControls(): void {
    this.teamInput.addEventListener("input", () => {
      const team = this.teamInput.value.trim();
      this.teamInput.setCustomValidity(isValidId(team) ? "" : "1-64 characters: letters, digits, _ . : -");
    });
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const team = this.teamInput.value.trim();
      const strategy = this.strategyInput.value;
      if (!isValidId(team) || !isStrategy(strategy)) {
        this.form.reportValidity();
        return;
      }
      if (team !== this.cfg.team || strategy !== this.cfg.strategy) {
        this.watch({ ...this.cfg, team, strategy }, "push");
      }
    });
    this.strategyInput.addEventListener("change", () => {
      const strategy = this.strategyInput.value;
      if (isStrategy(strategy) && strategy !== this.cfg.strategy) {
        this.watch({ ...this.cfg, strategy }, "push");
      }
    });
    window.addEventListener("popstate", () => {
      this.watch(fromURL(location.search, this.base), "none");
    });

    const option = (value: string): HTMLOptionElement => Object.assign(document.createElement("option"), { value });
    byId("team-suggestions").append(...this.base.teams.map(option));

    // Once the user moves the map, new workers no longer re-fit it.
    const mapElement = this.map.map.getContainer();
    for (const type of ["pointerdown", "wheel", "keydown"]) {
      mapElement.addEventListener(type, () => (this.userMovedMap = true), { passive: true });
    }
    byId<HTMLButtonElement>("fit").addEventListener("click", () => this.map.fitToTeam());
    const toggle = (input: HTMLInputElement, key: "trails" | "labels", apply: (on: boolean) => void): void => {
      input.addEventListener("change", () => {
        this.cfg = { ...this.cfg, [key]: input.checked };
        apply(input.checked);
        window.history.replaceState(null, "", toSearch(this.cfg, this.base, location.search));
      });
    };
    toggle(this.trailsInput, "trails", (on) => {
      // Trails need every position; without, each worker's newest per batch is enough.
      this.stream?.setFull(on);
      for (const ov of this.overlays.values()) {
        ov.stream?.setFull(on);
      }
      this.map.setTrails(on);
    });
    toggle(this.labelsInput, "labels", (on) => this.map.setLabels(on));

    // On a narrow screen the panel starts collapsed (the map needs the
    // room); the Panel button (shown there only) opens and closes it.
    const panelToggle = byId<HTMLButtonElement>("panel-toggle");
    const setPanel = (open: boolean): void => {
      panelToggle.setAttribute("aria-expanded", String(open));
      document.body.dataset.panel = open ? "open" : "collapsed";
      // The map's size changes with the panel's.
      window.setTimeout(() => this.map.map.invalidateSize(), 0);
    };
    setPanel(!window.matchMedia?.("(max-width: 760px)").matches);
    panelToggle.addEventListener("click", () => setPanel(panelToggle.getAttribute("aria-expanded") !== "true"));

    // A click on one of the service worker's notifications: show the alert
    // (in the team it is of).
    navigator.serviceWorker?.addEventListener("message", (ev: MessageEvent) => {
      const data = ev.data as { type?: unknown; alert?: unknown } | null;
      const a = data?.type === SW_ALERT_MESSAGE ? alertOf(data.alert) : null;
      if (a === null) {
        return;
      }
      if (a.team !== "" && a.team !== this.cfg.team) {
        this.watch({ ...this.cfg, team: a.team }, "push");
      }
      this.selectTab("alerts");
      this.showAlert(a);
    });
  }

  private installHook(): void {
    const app = this;
    installTestHook({
      get connected() {
        return app.stream?.info.state === "open";
      },
      get connection() {
        // No stream yet: the auth mode is being read, the stream comes next.
        return app.stream?.info.state ?? (app.auth === null ? "connecting" : "stopped");
      },
      get authMode() {
        return app.auth?.mode ?? "";
      },
      get connectionText() {
        return app.connectionText.textContent ?? "";
      },
      get strategy() {
        return app.cfg.strategy;
      },
      get team() {
        return app.cfg.team;
      },
      workerCount: () => app.shown.workers.size,
      markerCount: () => app.map.markerCount,
      markerPositions: () => app.map.markerPositions(),
      workerIds: () => [...app.shown.workers.keys()].sort(),
      connections: () => app.stream?.connections ?? 0,
      received: () => app.state.received,
      applied: () => app.state.applied,
      get mode() {
        return app.timebar.replaying ? "replay" : "live";
      },
      replay: () => app.timebar.replayHookInfo(),
      trail: () => app.timebar.trailHookInfo(),
      tilesActive: () => app.map.tilesActive,
      markerStatuses: () => app.map.markerStatuses(),
      presence: () =>
        Object.fromEntries(
          [...app.state.presence].map(([id, p]) => [id, { status: p.status, reason: p.reason, since: Number.isFinite(p.since) ? new Date(p.since).toISOString() : "" }]),
        ),
      alerts: () => app.alerts.hookInfo(),
      alertsMessage: () => app.alerts.message,
      alertsUnseen: () => app.alerts.unseenCount,
      get tab() {
        return app.tab;
      },
      fences: () => app.fences.hookInfo(),
      fenceEditShape: () => app.fences.editShape(),
      push: () => app.push.hookInfo(),
      messages: () => app.messages.hookInfo(),
      messageForm: () => app.messages.formHookInfo(),
      messagesMessage: () => app.messages.message,
      pagePoint: (lat, lng) => {
        const p = app.map.map.latLngToContainerPoint([lat, lng]);
        const r = app.map.map.getContainer().getBoundingClientRect();
        return { x: r.left + p.x, y: r.top + p.y };
      },
      selected: () => app.map.selected,
      teams: () =>
        [...app.overlays.values()].map((ov) => ({
          team: ov.team,
          hue: ov.hue,
          workers: ov.state.workers.size,
          connection: ov.stream?.info.state ?? "connecting",
        })),
      markerColours: () => app.map.markerColours(),
      following: () => app.map.following,
      layout: () => app.map.layout(),
      card: () => app.card.hookInfo(),
      basemap: () => app.map.basemapLayer?.info() ?? null,
      basemapAt: (lat, lng) => app.map.basemapLayer?.at(lat, lng) ?? "",
      mapView: () => {
        const c = app.map.map.getCenter();
        return { zoom: app.map.map.getZoom(), lat: c.lat, lng: c.lng };
      },
    });
  }
}

new App();
