// The selected worker's card, over the map: its status (with the reason and
// since when), last fix time, speed, heading and accuracy (drawn on the map
// as a circle, markers.ts), and the Follow toggle that keeps the map centred
// on it. Escape or the close button closes it (and deselects the worker).

import { describeStatus, formatAge, type Presence, type Status, type Worker } from "./state";

export interface CardElements {
  card: HTMLElement;
  title: HTMLElement;
  close: HTMLButtonElement;
  status: HTMLElement;
  fix: HTMLElement;
  speed: HTMLElement;
  heading: HTMLElement;
  accuracy: HTMLElement;
  follow: HTMLInputElement;
}

/** What the card shows, for the test hook. */
export interface CardHookInfo {
  open: boolean;
  worker: string;
  status: string;
  fix: string;
  speed: string;
  heading: string;
  accuracy: string;
  follow: boolean;
}

const COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];

export class WorkerCard {
  private workerId: string | null = null;

  constructor(
    private readonly el: CardElements,
    private readonly onClose: () => void,
    onFollow: (on: boolean) => void,
  ) {
    el.close.addEventListener("click", () => this.onClose());
    el.card.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        this.onClose();
      }
    });
    el.follow.addEventListener("change", () => onFollow(el.follow.checked));
  }

  get shown(): string | null {
    return this.workerId;
  }

  /** Shows the card of a worker (null: hides it). */
  open(workerId: string | null): void {
    this.workerId = workerId;
    this.el.card.hidden = workerId === null;
    this.el.card.dataset.worker = workerId ?? "";
    this.el.follow.checked = false;
  }

  setFollow(on: boolean): void {
    this.el.follow.checked = on;
  }

  /** Writes the worker's facts (a few times a second). */
  render(w: Worker | undefined, status: Status, presence: Presence | undefined, now: number): void {
    if (this.workerId === null) {
      return;
    }
    set(this.el.title, this.workerId);
    if (w === undefined) {
      set(this.el.status, "no position");
      for (const e of [this.el.fix, this.el.speed, this.el.heading, this.el.accuracy]) {
        set(e, "–");
      }
      return;
    }
    set(this.el.status, describeStatus(status, presence));
    this.el.status.dataset.status = status;
    const fix = Number.isFinite(w.time) ? new Date(w.time) : null;
    set(this.el.fix, fix === null ? "–" : `${fix.toLocaleTimeString()} (${formatAge(now - w.lastSeen)} ago)`);
    set(this.el.speed, w.speed === undefined ? "unknown" : `${w.speed.toFixed(1)} m/s (${(w.speed * 3.6).toFixed(0)} km/h)`);
    set(this.el.heading, w.heading === null ? "unknown" : `${Math.round(w.heading)}° ${COMPASS[Math.round(w.heading / 45) % 8]}`);
    set(this.el.accuracy, w.accuracy === undefined ? "unknown" : `±${Math.round(w.accuracy)} m (the circle on the map)`);
  }

  hookInfo(): CardHookInfo {
    return {
      open: this.workerId !== null,
      worker: this.workerId ?? "",
      status: this.el.status.textContent ?? "",
      fix: this.el.fix.textContent ?? "",
      speed: this.el.speed.textContent ?? "",
      heading: this.el.heading.textContent ?? "",
      accuracy: this.el.accuracy.textContent ?? "",
      follow: this.el.follow.checked,
    };
  }
}

function set(el: HTMLElement, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}
