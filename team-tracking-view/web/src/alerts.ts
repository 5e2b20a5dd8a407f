// The alerts panel: the team's latest alerts (geofence enter, exit, dwell;
// proximity apart, together, alone, joined), newest first, each once (by
// its id: the same alert may come from GET .../events and from the stream,
// or twice from the stream). At load, and after the stream says it could
// not resume (alerts may have been missed), the recent ones are read from
// GET /tracking/{strategy}/{team}/events; then they come live from the
// stream's `event: alert`. Clicking one (or Enter / Space on it) shows its
// place on the map.

import { alertOf, alertSentence, kindLabel, type Alert } from "./alertformat";
import { apiJSON, ApiError } from "./api";
import type { StreamCredentials } from "./auth";

/** The panel keeps this many alerts (the newest). */
export const MAX_ALERTS = 200;
/**
 * The past read at load, newest window first: the last 15 minutes, then
 * the last 2 hours, then the last day, until MAX_ALERTS are found.
 */
const WINDOWS_MS = [15 * 60_000, 2 * 3600_000, 24 * 3600_000];
/** Events per page of GET .../events (the server's largest is 10,000). */
const EVENTS_PAGE = 1000;
/** Pages read per window at most. */
const MAX_PAGES = 10;

export interface AlertsElements {
  list: HTMLOListElement;
  empty: HTMLElement;
  message: HTMLElement;
  /** The count of unseen alerts (on the panel's tab). */
  badge: HTMLElement;
}

/** What the test hook tells of an alert shown. */
export interface AlertHookInfo {
  id: string;
  kind: string;
  workerId: string;
  name: string;
  text: string;
  time: string;
}

export class AlertsPanel {
  /** Shown alerts by id, and in order (newest first). */
  private readonly byId = new Map<string, { alert: Alert; li: HTMLLIElement }>();
  private order: Alert[] = [];
  private unseen = 0;
  private visible = false;
  /** Bumped by clear(): an answer for an older team is dropped. */
  private generation = 0;
  private loading: AbortController | null = null;

  constructor(
    private readonly el: AlertsElements,
    private readonly onSelect: (a: Alert) => void,
  ) {
    const select = (ev: Event): void => {
      const li = (ev.target as Element).closest<HTMLElement>("li[data-alert-id]");
      const entry = li?.dataset.alertId === undefined ? undefined : this.byId.get(li.dataset.alertId);
      if (entry !== undefined) {
        ev.preventDefault();
        this.onSelect(entry.alert);
      }
    };
    el.list.addEventListener("click", select);
    el.list.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        select(ev);
      }
    });
    this.render();
  }

  /** Forgets every alert (another team is shown). */
  clear(): void {
    this.generation++;
    this.loading?.abort();
    this.loading = null;
    this.byId.clear();
    this.order = [];
    this.unseen = 0;
    this.el.list.replaceChildren();
    this.setMessage("");
    this.render();
  }

  /** Whether the panel is in view: alerts arriving while it is not are counted on its tab. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible) {
      this.unseen = 0;
    }
    this.render();
  }

  /** One `event: alert` of the stream. */
  addFromStream(record: unknown): void {
    const a = alertOf(record);
    if (a !== null && this.add([a]) > 0 && !this.visible) {
      this.unseen++;
      this.render();
    }
  }

  /**
   * Reads the team's recent alerts from GET base/events (newest window
   * first) and adds them. Failures are shown in the panel.
   */
  async load(base: string, credentials: StreamCredentials): Promise<void> {
    this.loading?.abort();
    const ctl = new AbortController();
    this.loading = ctl;
    const generation = this.generation;
    const now = Date.now();
    let to = now;
    let found = 0;
    try {
      for (const span of WINDOWS_MS) {
        const from = now - span;
        let cursor = "";
        for (let page = 0; page < MAX_PAGES; page++) {
          const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), limit: String(EVENTS_PAGE) });
          if (cursor !== "") {
            q.set("cursor", cursor);
          }
          const body = await apiJSON(`${base}/events?${q.toString()}`, credentials, "Alerts", { signal: ctl.signal });
          if (generation !== this.generation) {
            return;
          }
          const events = Array.isArray(body?.events) ? body.events : [];
          const alerts = events.map(alertOf).filter((a): a is Alert => a !== null);
          found += alerts.length;
          this.add(alerts);
          cursor = typeof body?.next === "string" ? body.next : "";
          if (cursor === "") {
            break;
          }
        }
        if (found >= MAX_ALERTS) {
          break;
        }
        to = from;
      }
      this.setMessage("");
    } catch (err) {
      if (generation === this.generation && !ctl.signal.aborted) {
        this.setMessage(err instanceof ApiError ? err.message : `Alerts: ${String(err)}`);
      }
    } finally {
      if (this.loading === ctl) {
        this.loading = null;
      }
    }
  }

  /** The alerts shown, newest first, for the test hook. */
  hookInfo(): AlertHookInfo[] {
    return this.order.map((a) => ({
      id: a.id,
      kind: a.kind,
      workerId: a.workerId,
      name: a.name,
      text: alertSentence(a),
      time: Number.isFinite(a.time) ? new Date(a.time).toISOString() : "",
    }));
  }

  get message(): string {
    return this.el.message.textContent ?? "";
  }

  get unseenCount(): number {
    return this.unseen;
  }

  /** Adds the alerts not shown yet, keeps the newest MAX_ALERTS; returns how many were new. */
  private add(alerts: Alert[]): number {
    const fresh = alerts.filter((a) => !this.byId.has(a.id));
    if (fresh.length === 0) {
      return 0;
    }
    for (const a of fresh) {
      this.byId.set(a.id, { alert: a, li: this.row(a) });
    }
    // Newest first; alerts without a time last; ties by id, so the order is stable.
    const time = (a: Alert): number => (Number.isFinite(a.time) ? a.time : -Infinity);
    this.order = [...this.order, ...fresh].sort((a, b) => time(b) - time(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let added = fresh.length;
    for (const dropped of this.order.splice(MAX_ALERTS)) {
      this.byId.delete(dropped.id);
      if (fresh.includes(dropped)) {
        added--;
      }
    }
    this.el.list.replaceChildren(...this.order.map((a) => this.byId.get(a.id)!.li));
    this.render();
    return added;
  }

  private row(a: Alert): HTMLLIElement {
    const li = document.createElement("li");
    li.className = "alert";
    li.dataset.alertId = a.id;
    li.dataset.kind = a.kind;
    li.tabIndex = 0;
    const span = (className: string, textContent: string): HTMLSpanElement =>
      Object.assign(document.createElement("span"), { className, textContent });
    const time = document.createElement("time");
    time.className = "alert-time";
    if (Number.isFinite(a.time)) {
      const d = new Date(a.time);
      time.dateTime = d.toISOString();
      time.textContent = sameDay(d, new Date()) ? d.toLocaleTimeString() : d.toLocaleString();
    }
    li.append(span("alert-kind", kindLabel(a.kind)), span("alert-text", alertSentence(a)), time);
    li.title = a.lat === undefined ? alertSentence(a) : `${alertSentence(a)}: show the place on the map`;
    return li;
  }

  private setMessage(text: string): void {
    if (this.el.message.textContent !== text) {
      this.el.message.textContent = text;
    }
    this.el.message.hidden = text === "";
  }

  private render(): void {
    this.el.empty.hidden = this.order.length > 0;
    const badge = this.unseen > 99 ? "99+" : String(this.unseen);
    this.el.badge.hidden = this.unseen === 0;
    if (this.el.badge.textContent !== badge) {
      this.el.badge.textContent = badge;
    }
  }
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}
