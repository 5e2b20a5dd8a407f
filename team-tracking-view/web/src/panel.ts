// The side panel: worker count, status counts, positions per second and the
// list of workers with their last-seen age and status (the presence status
// from the stream, its reason and since in the row's tooltip), with the
// state of its latest message (messages.ts) and a button that opens the
// message form for it. The caller
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
}

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
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

export class Panel {
  private readonly rows = new Map<string, Row>();

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
      const age = formatAge(now - w.lastSeen);
      if (row.ageText !== age) {
        row.ageText = age;
        row.age.textContent = age;
      }
    }
    if (added) {
      // Keep the list sorted by id; appending moves the existing nodes.
      const ids = [...this.rows.keys()].sort(collator.compare);
      this.el.list.append(...ids.map((id) => this.rows.get(id)!.li));
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
    return { li, age, status, msg, msgKey: "", ageText: "", statusValue: "", statusText: "" };
  }
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}
