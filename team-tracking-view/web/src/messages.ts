// Messages to workers: the form that sends one (to a worker, from its row
// in the workers panel, or to the whole team), the Messages tab listing the
// messages sent (by this page or by other managers of the team) with their
// recipients' delivery states, and each worker's latest message state (its
// row and its marker's tooltip show it).
//
//   POST .../messages {"to":["w-1"] | "all","body":{"text":"..."},"ttl":"1h"}
//     → 201 {"id":"m_...","online":N,"queued":M}
//   GET  .../messages/{id} → {"id","sender","body","sentAt","expiresAt","states",
//                            "recipients":[{"workerId","state",...}]}
//
// The states come live from the stream's `event: delivery`, one per
// recipient per change: {"messageId","workerId","team","state","at"}. A
// recipient's state only moves forward, sent → delivered → acked → read, or
// sent / delivered → expired; a state implies the earlier ones (an acked
// may come without a delivered before it), so a late or repeated event
// never moves one back. A message this page did not send (another manager's,
// or one sent before the page was opened) is listed when its first delivery
// event arrives, and read once with GET .../messages/{id} for its text and
// recipients. There is no list of a team's messages on the service: the tab
// shows those whose events arrived since the page was opened.
//
// A service without a message store answers 501: the form and the tab say
// that messages are not available, and the rest of the page carries on.

import { apiJSON, ApiError } from "./api";
import type { StreamCredentials } from "./auth";

/** The tab keeps this many messages (the newest). */
export const MAX_MESSAGES = 200;
/** Ids of messages dropped from the tab, remembered so that their late events do not bring them back. */
const MAX_FORGOTTEN = 1000;
/** A message's text is cut to this many characters in the list (the whole text is its tooltip). */
const SHOWN_TEXT = 280;

export type DeliveryState = "sent" | "delivered" | "acked" | "read" | "expired";

/** The states in the order the tab counts them (furthest first). */
export const DELIVERY_STATES: readonly DeliveryState[] = ["read", "acked", "delivered", "sent", "expired"];

const RANK: Record<DeliveryState, number> = { sent: 0, delivered: 1, acked: 2, read: 3, expired: 2 };

function isDeliveryState(s: unknown): s is DeliveryState {
  return typeof s === "string" && Object.hasOwn(RANK, s);
}

/**
 * Whether a recipient in state current may move to next: states only move
 * forward (sent, delivered, acked, read), expired only from sent or
 * delivered, and nothing leaves expired or read.
 */
export function advances(current: DeliveryState | undefined, next: DeliveryState): boolean {
  if (current === undefined) {
    return true;
  }
  if (current === "expired" || current === "read") {
    return false;
  }
  if (next === "expired") {
    return current === "sent" || current === "delivered";
  }
  return RANK[next] > RANK[current];
}

/** One `event: delivery` of the stream. */
export interface Delivery {
  messageId: string;
  workerId: string;
  team: string;
  state: DeliveryState;
  /** ms since the epoch; NaN when unknown. */
  at: number;
}

/** The delivery in a record (parsed JSON); null when it is not one. */
export function deliveryOf(v: unknown): Delivery | null {
  if (typeof v !== "object" || v === null) {
    return null;
  }
  const r = v as Record<string, unknown>;
  if (typeof r.messageId !== "string" || r.messageId === "" || typeof r.workerId !== "string" || r.workerId === "" || !isDeliveryState(r.state)) {
    return null;
  }
  return {
    messageId: r.messageId,
    workerId: r.workerId,
    team: typeof r.team === "string" ? r.team : "",
    state: r.state,
    at: typeof r.at === "string" ? Date.parse(r.at) : NaN,
  };
}

/** What a message's body says, in words: its text, else the JSON itself. */
export function bodyText(body: unknown): string {
  if (typeof body === "object" && body !== null && typeof (body as Record<string, unknown>).text === "string") {
    return (body as Record<string, string>).text;
  }
  return body === undefined ? "" : JSON.stringify(body);
}

/** A message in the tab. */
interface Message {
  readonly id: string;
  /** The body's text; "" while it is not known. */
  text: string;
  /** "known"; "pending": to be read with GET; "loading"; "unavailable": GET failed. */
  textState: "known" | "pending" | "loading" | "unavailable";
  /** Whom it was sent to: "all", or the workers (for another's message, the recipients GET named). */
  to: "all" | string[];
  /** Whether this page sent it. */
  mine: boolean;
  /** When it was sent (ms); for another's message, when its first event came until GET says. */
  sentAt: number;
  /** Order of arrival, for ties. */
  readonly seq: number;
  /** Recipients known: from the POST's answer (online + queued) or GET, at least those with events. */
  total: number;
  online?: number;
  queued?: number;
  readonly recipients: Map<string, DeliveryState>;
  /** Its row in the tab; rows are redrawn at the next render when dirty. */
  li: HTMLLIElement | null;
  dirty: boolean;
}

/** What the test hook tells of a message in the tab. */
export interface MessageHookInfo {
  id: string;
  text: string;
  to: "all" | string[];
  mine: boolean;
  sentAt: string;
  total: number;
  online: number | null;
  queued: number | null;
  /** Recipients per state (those with no event yet count as sent). */
  states: Record<DeliveryState, number>;
  /** Each recipient's state, by worker. */
  recipients: Record<string, DeliveryState>;
}

/** What the test hook tells of the form. */
export interface MessageFormHookInfo {
  open: boolean;
  /** "all" or the worker, while open; "" else. */
  to: string;
  sending: boolean;
  /** The form's error ("" when none). */
  error: string;
  /** The last send's result: "Sent to 1 (online 1, queued 0)". */
  status: string;
}

/** A worker's latest message, for its row and marker. */
export interface WorkerMessage {
  state: DeliveryState;
  /** In words, for a tooltip: `Latest message "go to depot 4": acked`. */
  title: string;
}

export interface MessagesElements {
  form: HTMLFormElement;
  formTitle: HTMLElement;
  text: HTMLTextAreaElement;
  ttl: HTMLSelectElement;
  send: HTMLButtonElement;
  cancel: HTMLButtonElement;
  error: HTMLElement;
  /** Says what the last send did (role=status). */
  status: HTMLElement;
  /** The "Message team" buttons. */
  teamButtons: HTMLButtonElement[];
  list: HTMLOListElement;
  empty: HTMLElement;
  /** Why messages cannot be shown or sent (a 501, a failed read). */
  message: HTMLElement;
}

interface Target {
  base: string;
  team: string;
  credentials: StreamCredentials;
}

const STATE_WORDS: Record<DeliveryState, string> = {
  sent: "sent",
  delivered: "delivered",
  acked: "acked",
  read: "read",
  expired: "expired",
};

/** The indicator on a worker's row, by state (its words are the title and aria-label). */
const STATE_ICONS: Record<DeliveryState, string> = {
  sent: "✉",
  delivered: "✓",
  acked: "✓✓",
  read: "✓✓",
  expired: "⌛",
};

export function stateIcon(state: DeliveryState): string {
  return STATE_ICONS[state];
}

const STATE_HELP: Record<DeliveryState, string> = {
  sent: "sent: not delivered yet (queued while the worker is offline)",
  delivered: "delivered to the worker's device",
  acked: "acknowledged by the worker's app",
  read: "read by the worker",
  expired: "expired before it was acknowledged",
};

export class MessagesPanel {
  private readonly messages = new Map<string, Message>();
  /** Ids dropped from the tab, oldest first. */
  private readonly forgotten = new Set<string>();
  /** Each worker's latest message id. */
  private readonly latest = new Map<string, string>();
  private seq = 0;
  private target: Target | null = null;
  /** Bumped by setTarget: answers for an older team are dropped. */
  private generation = 0;
  /** The form's recipient while it is open: "all" or a worker. */
  private to: string | null = null;
  /** The element to give the focus back to when the form closes. */
  private opener: HTMLElement | null = null;
  /** POSTs in flight: the events of a message we send may come before its answer. */
  private sending = 0;
  private unavailable = false;
  private listDirty = false;
  private readonly aborts = new Set<AbortController>();

  constructor(private readonly el: MessagesElements) {
    el.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.submit();
    });
    el.cancel.addEventListener("click", () => this.close());
    el.form.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        this.close();
      }
    });
    el.text.addEventListener("input", () => el.text.setCustomValidity(""));
    for (const b of el.teamButtons) {
      b.addEventListener("click", () => this.open("all", b));
    }
    this.render();
  }

  /** The team the page shows (null: none yet): forgets every message. */
  setTarget(target: Target | null): void {
    this.generation++;
    for (const ctl of this.aborts) {
      ctl.abort();
    }
    this.aborts.clear();
    this.target = target;
    this.messages.clear();
    this.forgotten.clear();
    this.latest.clear();
    this.sending = 0;
    this.unavailable = false;
    this.close(false);
    this.setStatus("");
    this.setMessage("");
    this.el.list.replaceChildren();
    this.listDirty = false;
    for (const b of this.el.teamButtons) {
      b.disabled = target === null;
    }
    this.render();
  }

  /** Opens the form for a message to a worker, or to the team ("all"). */
  open(to: string, opener?: HTMLElement): void {
    if (this.target === null) {
      return;
    }
    const changed = this.to !== to;
    this.to = to;
    this.opener = opener ?? (document.activeElement instanceof HTMLElement ? document.activeElement : null);
    this.el.formTitle.textContent = to === "all" ? `Message to the team (${this.target.team})` : `Message to ${to}`;
    this.el.form.dataset.to = to;
    if (changed) {
      this.el.text.value = "";
    }
    this.setError("");
    this.setStatus(""); // the last send's result is of another message
    this.el.form.hidden = false;
    this.el.text.focus();
  }

  /** Closes the form; the focus goes back where it came from. */
  close(refocus = true): void {
    const wasOpen = !this.el.form.hidden;
    this.to = null;
    this.el.form.hidden = true;
    delete this.el.form.dataset.to;
    this.setError("");
    if (refocus && wasOpen && this.opener?.isConnected) {
      this.opener.focus();
    }
    this.opener = null;
  }

  /** One `event: delivery` of the stream. */
  addFromStream(record: unknown): void {
    const d = deliveryOf(record);
    const target = this.target;
    if (d === null || target === null || (d.team !== "" && d.team !== target.team) || this.forgotten.has(d.messageId)) {
      return;
    }
    let m = this.messages.get(d.messageId);
    if (m === undefined) {
      // Not one of ours (or ours, before its POST answered): read it once.
      m = this.add(d.messageId, { sentAt: Number.isFinite(d.at) ? d.at : Date.now(), textState: "pending" });
      if (this.sending === 0) {
        void this.fetch(m);
      }
    }
    this.setState(m, d.workerId, d.state);
    this.noteLatest(m, d.workerId);
  }

  /** Brings the rows of changed messages up to date (the page calls it a few times a second). */
  render(): void {
    if (this.listDirty) {
      this.listDirty = false;
      this.el.list.replaceChildren(...this.ordered().map((m) => this.row(m)));
    } else {
      for (const m of this.messages.values()) {
        if (m.dirty) {
          this.row(m);
        }
      }
    }
    this.el.empty.hidden = this.messages.size > 0 || this.unavailable;
  }

  /** The worker's latest message and its state there; undefined when it has none. */
  latestFor(worker: string): WorkerMessage | undefined {
    const id = this.latest.get(worker);
    const m = id === undefined ? undefined : this.messages.get(id);
    if (m === undefined) {
      return undefined;
    }
    const state = m.recipients.get(worker) ?? "sent";
    const what = m.text === "" ? "Latest message" : `Latest message "${clip(m.text, 60)}"`;
    return { state, title: `${what}: ${STATE_HELP[state]}` };
  }

  /** The messages in the tab, newest first, for the test hook. */
  hookInfo(): MessageHookInfo[] {
    return this.ordered().map((m) => ({
      id: m.id,
      text: m.text,
      to: m.to,
      mine: m.mine,
      sentAt: Number.isFinite(m.sentAt) ? new Date(m.sentAt).toISOString() : "",
      total: m.total,
      online: m.online ?? null,
      queued: m.queued ?? null,
      states: counts(m),
      recipients: Object.fromEntries(m.recipients),
    }));
  }

  formHookInfo(): MessageFormHookInfo {
    return {
      open: !this.el.form.hidden,
      to: this.to ?? "",
      sending: this.el.send.disabled,
      error: this.el.error.hidden ? "" : (this.el.error.textContent ?? ""),
      status: this.el.status.hidden ? "" : (this.el.status.textContent ?? ""),
    };
  }

  /** Why messages are not shown or sent ("" when they are). */
  get message(): string {
    return this.el.message.hidden ? "" : (this.el.message.textContent ?? "");
  }

  private async submit(): Promise<void> {
    const target = this.target;
    const to = this.to;
    if (target === null || to === null || this.el.send.disabled) {
      return;
    }
    const text = this.el.text.value.trim();
    if (text === "") {
      this.el.text.setCustomValidity("Write the message first");
      this.el.form.reportValidity();
      return;
    }
    const ttl = this.el.ttl.value;
    const generation = this.generation;
    const ctl = new AbortController();
    this.aborts.add(ctl);
    this.sending++;
    this.el.send.disabled = true;
    this.el.send.textContent = "Sending…";
    this.setError("");
    try {
      const answer = await apiJSON(
        `${target.base}/messages`,
        target.credentials,
        "Messages",
        { method: "POST", body: { to: to === "all" ? "all" : [to], body: { text }, ttl }, signal: ctl.signal },
      );
      if (generation !== this.generation) {
        return;
      }
      const id = typeof answer?.id === "string" ? answer.id : "";
      const online = typeof answer?.online === "number" ? answer.online : 0;
      const queued = typeof answer?.queued === "number" ? answer.queued : 0;
      if (id === "") {
        this.setError("Messages: the answer has no message id");
        return;
      }
      this.sent(id, text, to, online, queued);
      const who = to === "all" ? "the team" : to;
      this.setStatus(`Message to ${who}: sent to ${online + queued} (online ${online}, queued ${queued})`);
      this.el.text.value = "";
      this.close();
    } catch (err) {
      if (generation !== this.generation || ctl.signal.aborted) {
        return;
      }
      const e = err instanceof ApiError ? err : new ApiError(`Messages: ${String(err)}`, 0);
      if (e.status === 501) {
        this.unavailable = true;
        this.setMessage("Messages to workers are not available on this service.");
        this.render();
      }
      this.setError(e.field === "" || e.message.startsWith(`${e.field}:`) ? e.message : `${e.field}: ${e.message}`);
    } finally {
      this.aborts.delete(ctl);
      if (generation === this.generation) {
        this.sending--;
        this.el.send.disabled = false;
        this.el.send.textContent = "Send";
        if (this.sending === 0) {
          // Events of messages no POST of ours claimed: another's, read them now.
          for (const m of this.messages.values()) {
            if (m.textState === "pending") {
              void this.fetch(m);
            }
          }
        }
      }
    }
  }

  /** Records a message this page sent (its events may have come already). */
  private sent(id: string, text: string, to: string, online: number, queued: number): void {
    let m = this.messages.get(id);
    if (m === undefined) {
      m = this.add(id, { sentAt: Date.now(), textState: "known" });
    }
    m.mine = true;
    m.text = text;
    m.textState = "known";
    m.to = to === "all" ? "all" : [to];
    m.online = online;
    m.queued = queued;
    m.total = Math.max(m.total, online + queued);
    m.dirty = true;
    if (to !== "all") {
      this.noteLatest(m, to);
    }
  }

  /** Reads a message the page did not send, once: its text, recipients and their states. */
  private async fetch(m: Message): Promise<void> {
    const target = this.target;
    if (target === null || m.textState !== "pending") {
      return;
    }
    m.textState = "loading";
    m.dirty = true;
    const generation = this.generation;
    const ctl = new AbortController();
    this.aborts.add(ctl);
    try {
      const v = await apiJSON(`${target.base}/messages/${encodeURIComponent(m.id)}`, target.credentials, "Messages", { signal: ctl.signal });
      if (generation !== this.generation || this.messages.get(m.id) !== m) {
        return;
      }
      m.text = bodyText(v?.body);
      m.textState = "known";
      const sentAt = typeof v?.sentAt === "string" ? Date.parse(v.sentAt) : NaN;
      if (Number.isFinite(sentAt) && sentAt !== m.sentAt) {
        m.sentAt = sentAt;
        this.listDirty = true; // its place in the order may change
      }
      const recipients = Array.isArray(v?.recipients) ? v.recipients : [];
      const to: string[] = [];
      for (const r of recipients) {
        const rec = r as Record<string, unknown> | null;
        if (typeof rec?.workerId !== "string") {
          continue;
        }
        to.push(rec.workerId);
        if (isDeliveryState(rec.state)) {
          this.setState(m, rec.workerId, rec.state);
        }
        this.noteLatest(m, rec.workerId);
      }
      if (!m.mine) {
        m.to = to;
      }
      m.total = Math.max(m.total, to.length, m.recipients.size);
      m.dirty = true;
    } catch (err) {
      if (generation !== this.generation || ctl.signal.aborted) {
        return;
      }
      m.textState = "unavailable";
      m.dirty = true;
      if (err instanceof ApiError && err.status === 501) {
        this.unavailable = true;
        this.setMessage("Messages to workers are not available on this service.");
      }
    } finally {
      this.aborts.delete(ctl);
    }
  }

  /** Adds a message to the tab and drops the oldest beyond MAX_MESSAGES. */
  private add(id: string, init: { sentAt: number; textState: Message["textState"] }): Message {
    const m: Message = {
      id,
      text: "",
      textState: init.textState,
      to: [],
      mine: false,
      sentAt: init.sentAt,
      seq: this.seq++,
      total: 0,
      recipients: new Map(),
      li: null,
      dirty: true,
    };
    this.messages.set(id, m);
    this.listDirty = true;
    if (this.messages.size > MAX_MESSAGES) {
      const oldest = this.ordered().at(-1)!;
      this.forget(oldest);
    }
    return m;
  }

  private forget(m: Message): void {
    this.messages.delete(m.id);
    this.forgotten.add(m.id);
    if (this.forgotten.size > MAX_FORGOTTEN) {
      this.forgotten.delete(this.forgotten.values().next().value!);
    }
    for (const [worker, id] of this.latest) {
      if (id === m.id) {
        this.latest.delete(worker);
      }
    }
    this.listDirty = true;
  }

  /** Moves a recipient to state if that is forward; returns whether it changed. */
  private setState(m: Message, worker: string, state: DeliveryState): boolean {
    const current = m.recipients.get(worker);
    if (!advances(current, state)) {
      return false;
    }
    m.recipients.set(worker, state);
    if (m.recipients.size > m.total) {
      m.total = m.recipients.size;
    }
    m.dirty = true;
    return true;
  }

  /** Makes m the worker's latest message, unless a newer one is. */
  private noteLatest(m: Message, worker: string): void {
    const id = this.latest.get(worker);
    const other = id === undefined ? undefined : this.messages.get(id);
    if (other === undefined || other === m || newer(m, other)) {
      this.latest.set(worker, m.id);
    }
  }

  /** Newest first. */
  private ordered(): Message[] {
    return [...this.messages.values()].sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
  }

  /** Draws (or redraws) a message's row. */
  private row(m: Message): HTMLLIElement {
    let li = m.li;
    if (li === null || m.dirty) {
      m.dirty = false;
      li ??= document.createElement("li");
      m.li = li;
      li.className = "message";
      li.dataset.messageId = m.id;
      li.dataset.mine = String(m.mine);
      const span = (className: string, textContent: string): HTMLSpanElement =>
        Object.assign(document.createElement("span"), { className, textContent });
      const text =
        m.textState === "known"
          ? clip(m.text, SHOWN_TEXT)
          : m.textState === "unavailable"
            ? "(the text could not be read)"
            : "(reading the message…)";
      const textEl = span("message-text", text);
      if (m.textState !== "known") {
        textEl.classList.add("message-text-missing");
      }
      const to = m.to === "all" ? `to the team (${m.total})` : m.to.length === 0 ? `to ${m.total} worker${m.total === 1 ? "" : "s"}` : `to ${listWorkers(m.to)}`;
      const meta = span("message-meta", `${m.mine ? "" : "by another manager, "}${to}`);
      const time = document.createElement("time");
      time.className = "message-time";
      if (Number.isFinite(m.sentAt)) {
        const d = new Date(m.sentAt);
        time.dateTime = d.toISOString();
        time.textContent = d.toLocaleTimeString();
      }
      const c = counts(m);
      const states = document.createElement("span");
      states.className = "message-states";
      const parts = DELIVERY_STATES.filter((s) => c[s] > 0 || s === "acked");
      states.append(
        ...parts.flatMap((s, i) => {
          const el = span("message-state", `${c[s]} ${STATE_WORDS[s]}`);
          el.dataset.state = s;
          el.dataset.count = String(c[s]);
          el.title = STATE_HELP[s];
          return i === 0 ? [el] : [document.createTextNode(" · "), el];
        }),
      );
      li.title = `${m.textState === "known" ? m.text : m.id}\n${DELIVERY_STATES.map((s) => `${c[s]} ${STATE_WORDS[s]}`).join(", ")}`;
      li.replaceChildren(textEl, time, meta, states);
    }
    return li;
  }

  private setError(text: string): void {
    this.el.error.textContent = text;
    this.el.error.hidden = text === "";
    this.el.text.setAttribute("aria-invalid", String(text !== "" && !this.unavailable));
  }

  private setStatus(text: string): void {
    this.el.status.textContent = text;
    this.el.status.hidden = text === "";
  }

  private setMessage(text: string): void {
    this.el.message.textContent = text;
    this.el.message.hidden = text === "";
  }
}

/** Recipients per state; those without an event yet count as sent. */
function counts(m: Message): Record<DeliveryState, number> {
  const c: Record<DeliveryState, number> = { sent: 0, delivered: 0, acked: 0, read: 0, expired: 0 };
  for (const s of m.recipients.values()) {
    c[s]++;
  }
  c.sent += Math.max(0, m.total - m.recipients.size);
  return c;
}

function newer(a: Message, b: Message): boolean {
  return a.sentAt > b.sentAt || (a.sentAt === b.sentAt && a.seq > b.seq);
}

function listWorkers(ids: string[]): string {
  return ids.length <= 3 ? ids.join(", ") : `${ids.slice(0, 3).join(", ")} and ${ids.length - 3} more`;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
