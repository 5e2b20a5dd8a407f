// The side panel: worker count, status counts, positions per second and the
// list of workers with their last-seen age and status (the presence status
// from the stream, its reason and since in the row's tooltip), with the
// state of its latest message (messages.ts) and a button that opens the
// message form for it. The list can be searched (by id) and sorted (by
// name, status or last seen); the selected worker's row is marked. The caller
// renders it a few times a second at most; rows are kept per worker and
// only the text that changed is written, so 500 workers cost little.

import { stateIcon, type WorkerMessage } from "./messages";
import { describeStatus, formatAge, statusOf, type Status, type TeamState, type Worker } from "./state";

export interface PanelElements {
  count: HTMLElement;
  rate: HTMLElement;
  online: HTMLElement;
  idle: HTMLElement;
  offline: HTMLElement;
  list: HTMLOListElement;
  empty: HTMLElement;
  search: HTMLInputElement;
  sort: HTMLSelectElement;
  /** Says how many rows match the search (for screen readers). */
  matches: HTMLElement;
}

export type SortKey = "name" | "status" | "seen";

/** The rows' messages: the latest one's state, and the form for a new one. */
export interface PanelMessages {
  latestFor(workerId: string): WorkerMessage | undefined;
  open(workerId: string, opener: HTMLElement): void;
}

interface Row {
  readonly li: HTMLLIElement;
  readonly age: HTMLElement;
  readonly status: HTMLElement;
  /** The latest message's state. */
  readonly msg: HTMLElement;
  msgKey: string;
  ageText: string;
  statusValue: Status | "";
  /** The status's words (reason, since) the tooltip was written for. */
  statusText: string;
  /** For sorting by last seen. */
  lastSeen: number;
  /** Its swatch's colour (a colour family while other teams are shown). */
  colour: string;
}

const STATUS_ORDER: Record<Status | "", number> = { online: 0, idle: 1, offline: 2, "": 3 };

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

export class Panel {
  private readonly rows = new Map<string, Row>();
  private query = "";
  private sortKey: SortKey = "name";
  /** Row ids in the order shown, and whether the search or order must be applied again. */
  private order: string[] = [];
  private dirtyFilter = true;
  private selectedId: string | null = null;

  constructor(
    private readonly el: PanelElements,
    private readonly onSelect: (workerId: string) => void,
    private readonly messages?: PanelMessages,
  ) {
    const select = (ev: Event): void => {
      // The row's message button is its own control.
      const button = (ev.target as Element).closest<HTMLButtonElement>("button.worker-message");
      if (button !== null) {
        if (ev.type === "click" && button.dataset.workerId !== undefined) {
          this.messages?.open(button.dataset.workerId, button);
        }
        return;
      }
      const li = (ev.target as Element).closest<HTMLElement>("li[data-worker-id]");
      if (li?.dataset.workerId !== undefined) {
        ev.preventDefault();
        this.onSelect(li.dataset.workerId);
      }
    };
    el.list.addEventListener("click", select);
    // Rows are focusable: Enter or Space picks one, as a click does.
    el.list.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        select(ev);
      }
    });
    el.search.addEventListener("input", () => {
      this.query = el.search.value.trim().toLowerCase();
      this.dirtyFilter = true;
      this.applyFilter();
    });
    // Enter in the search picks the first match.
    el.search.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        const first = this.order.find((id) => !this.rows.get(id)!.li.hidden);
        if (first !== undefined) {
          this.onSelect(first);
        }
      }
    });
    el.sort.addEventListener("change", () => {
      this.sortKey = (el.sort.value as SortKey) || "name";
      this.dirtyFilter = true;
    });
  }

  /** Marks the selected worker's row (null: none) and brings it into view. */
  setSelected(id: string | null): void {
    if (this.selectedId !== null) {
      this.rows.get(this.selectedId)?.li.removeAttribute("aria-current");
    }
    this.selectedId = id;
    const row = id === null ? undefined : this.rows.get(id);
    if (row !== undefined) {
      row.li.setAttribute("aria-current", "true");
      if (!row.li.hidden) {
        row.li.scrollIntoView({ block: "nearest" });
      }
    }
  }

  /** Hides the rows that do not match the search; says how many do. */
  private applyFilter(): void {
    let shown = 0;
    for (const [id, row] of this.rows) {
      const hide = this.query !== "" && !id.toLowerCase().includes(this.query);
      if (row.li.hidden !== hide) {
        row.li.hidden = hide;
      }
      shown += hide ? 0 : 1;
    }
    setText(this.el.matches, this.query === "" ? "" : `${shown} of ${this.rows.size} workers match`);
    this.el.list.dataset.shown = String(shown);
  }

  /** Puts the rows in the chosen order (moves nodes only when it changed). */
  private applyOrder(): void {
    const ids = [...this.rows.keys()];
    const rows = this.rows;
    const byName = (a: string, b: string): number => collator.compare(a, b);
    if (this.sortKey === "status") {
      ids.sort((a, b) => STATUS_ORDER[rows.get(a)!.statusValue] - STATUS_ORDER[rows.get(b)!.statusValue] || byName(a, b));
    } else if (this.sortKey === "seen") {
      // Newest first, to the second (so that rows do not shuffle on every fix).
      const sec = (id: string): number => Math.floor(rows.get(id)!.lastSeen / 1000);
      ids.sort((a, b) => sec(b) - sec(a) || byName(a, b));
    } else {
      ids.sort(byName);
    }
    if (ids.length !== this.order.length || ids.some((id, i) => id !== this.order[i])) {
      this.order = ids;
      this.el.list.append(...ids.map((id) => rows.get(id)!.li));
    }
  }

  /**
   * Brings the panel up to date. It returns the workers whose status changed
   * since the last render (the map dims idle and offline markers).
   */
  render(state: TeamState, now: number): [string, Status][] {
    const changes: [string, Status][] = [];
    let added = false;
    const counts = { online: 0, idle: 0, offline: 0 };
    for (const w of state.workers.values()) {
      let row = this.rows.get(w.id);
      if (row === undefined) {
        row = this.createRow(w);
        this.rows.set(w.id, row);
        added = true;
      }
      const presence = state.presence.get(w.id);
      const status = statusOf(w, now, presence);
      counts[status]++;
      if (row.statusValue !== status) {
        row.statusValue = status;
        row.li.dataset.status = status;
        row.status.textContent = status;
        changes.push([w.id, status]);
      }
      const statusText = describeStatus(status, presence);
      if (row.statusText !== statusText) {
        row.statusText = statusText;
        row.li.dataset.reason = presence?.reason ?? "";
        row.li.dataset.presence = presence === undefined ? "age" : "stream";
        row.status.title = statusText;
        row.li.title = `${w.id}: ${statusText}. Show it on the map and pick it for a trail`;
      }
      const msg = this.messages?.latestFor(w.id);
      const msgKey = msg === undefined ? "" : `${msg.state} ${msg.title}`;
      if (row.msgKey !== msgKey) {
        row.msgKey = msgKey;
        row.msg.textContent = msg === undefined ? "" : stateIcon(msg.state);
        row.msg.dataset.state = msg?.state ?? "";
        row.msg.title = msg?.title ?? "";
        if (msg === undefined) {
          row.msg.removeAttribute("aria-label");
        } else {
          row.msg.setAttribute("aria-label", msg.title);
        }
      }
      row.lastSeen = w.lastSeen;
      if (row.colour !== w.colour) {
        row.colour = w.colour;
        row.li.style.setProperty("--c", w.colour);
      }
      const age = formatAge(now - w.lastSeen);
      if (row.ageText !== age) {
        row.ageText = age;
        row.age.textContent = age;
      }
    }
    if (added || this.dirtyFilter || this.sortKey !== "name") {
      // Appending moves the existing nodes.
      this.applyOrder();
    }
    if (added || this.dirtyFilter) {
      this.dirtyFilter = false;
      this.applyFilter();
      if (added && this.selectedId !== null) {
        this.setSelected(this.selectedId);
      }
    }
    const n = state.workers.size;
    setText(this.el.count, String(n));
    this.el.count.dataset.count = String(n);
    setText(this.el.online, String(counts.online));
    setText(this.el.idle, String(counts.idle));
    setText(this.el.offline, String(counts.offline));
    const rate = state.positionsPerSecond(now);
    setText(this.el.rate, rate.toFixed(1));
    this.el.rate.dataset.rate = rate.toFixed(2);
    this.el.empty.hidden = n > 0;
    return changes;
  }

  clear(): void {
    this.rows.clear();
    this.order = [];
    this.selectedId = null;
    this.dirtyFilter = true;
    this.el.list.replaceChildren();
  }

  private createRow(w: Worker): Row {
    const li = document.createElement("li");
    li.className = "worker";
    li.dataset.workerId = w.id;
    li.style.setProperty("--c", w.colour);
    li.title = `Show ${w.id} on the map and pick it for a trail`;
    li.tabIndex = 0;
    const span = (className: string, textContent = ""): HTMLSpanElement =>
      Object.assign(document.createElement("span"), { className, textContent });
    const age = span("worker-age");
    const status = span("worker-status");
    const msg = span("worker-msg");
    msg.setAttribute("role", "img");
    li.append(span("worker-swatch"), span("worker-id", w.id), msg, age, status);
    if (this.messages !== undefined) {
      const button = Object.assign(document.createElement("button"), {
        type: "button",
        className: "worker-message",
        textContent: "✉",
        title: `Send ${w.id} a message`,
      });
      button.dataset.workerId = w.id;
      button.setAttribute("aria-label", `Message ${w.id}`);
      li.append(button);
    }
    return { li, age, status, msg, msgKey: "", ageText: "", statusValue: "", statusText: "", lastSeen: w.lastSeen, colour: w.colour };
  }
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}
