// The notifications toggle: alerts of the team shown reach this browser by
// Web Push, even with the map closed.
//
// Turning it on: ask for the Notification permission; register the view's
// service worker (/sw.js, scope /, see sw/sw.ts); read the service's VAPID
// public key; subscribe (pushManager.subscribe, userVisibleOnly, with that
// key as applicationServerKey); and give the subscription to the service
// (POST, PUSH_ROUTES below). The service then sends each alert of the team,
// encrypted, through the browser's push service, and the service worker
// shows it as a notification (its click focuses or opens the view).
//
// Turning it off: DELETE the team's subscription at the service, and
// unsubscribe the browser when no other team uses its subscription.
//
// Which teams this browser gets alerts of is kept in localStorage (the id
// the service gave each subscription, by strategy and team). While the
// toggle is on, every load gives the subscription to the service again
// (the service keeps one per endpoint, so nothing doubles; keys that
// changed are updated).

import { ApiError, apiJSON } from "./api";
import type { StreamCredentials } from "./auth";

/** The service worker's script, served by the Go handler at the root, and its scope. */
export const SW_URL = "/sw.js";
export const SW_SCOPE = "/";

/** The Web Push routes under the team's path, /tracking/{strategy}/{team}. */
export const PUSH_ROUTES = {
  /** GET: {"publicKey":"<base64url>"}: the VAPID key to subscribe with. */
  key: "/push/key",
  /** POST the PushSubscription's JSON: the stored subscription, with its "id". */
  subscriptions: "/push/subscriptions",
  /** DELETE .../push/subscriptions/{id}. */
  subscription: (id: string): string => `/push/subscriptions/${encodeURIComponent(id)}`,
};

export type PushState =
  /** No Push API here (or not a secure context). */
  | "unsupported"
  /** Not subscribed. */
  | "off"
  /** Subscribing or unsubscribing. */
  | "busy"
  /** This team's alerts reach this browser. */
  | "on"
  /** The user (or the browser) refused notifications. */
  | "denied"
  /** The last attempt failed (see message). */
  | "failed";

export interface PushElements {
  toggle: HTMLInputElement;
  message: HTMLElement;
}

/** What the test hook tells of the toggle. */
export interface PushHookInfo {
  state: PushState;
  message: string;
  /** The subscription's endpoint ("" when none). */
  endpoint: string;
  /** The id the service gave this team's subscription ("" when none). */
  id: string;
}

const STORAGE_KEY = "team-tracking-view.push";
/** The browser's push service must give a subscription within this long. */
const SUBSCRIBE_TIMEOUT_MS = 20_000;

interface Target {
  /** The team's path: /tracking/{strategy}/{team}. */
  base: string;
  team: string;
  credentials: StreamCredentials;
}

export class PushToggle {
  private target: Target | null = null;
  private state: PushState = "off";
  private endpoint = "";
  /** Bumped by setTarget and by each toggle: an older attempt's result is dropped. */
  private attempt = 0;

  constructor(private readonly el: PushElements) {
    if (!supported()) {
      this.set("unsupported", "Notifications are not available in this browser (they need HTTPS or localhost, service workers and the Push API).");
    }
    el.toggle.addEventListener("change", () => {
      if (el.toggle.checked) {
        void this.enable();
      } else {
        void this.disable();
      }
    });
  }

  /** Another team is shown: the toggle says whether its alerts reach this browser, and renews its subscription. */
  setTarget(target: Target | null): void {
    this.target = target;
    this.attempt++;
    if (this.state === "unsupported") {
      return;
    }
    this.endpoint = "";
    const id = target === null ? undefined : stored()[target.base];
    if (id === undefined || Notification.permission !== "granted") {
      this.set(Notification.permission === "denied" ? "denied" : "off", Notification.permission === "denied" ? deniedText : "");
      return;
    }
    // On for this team: give the subscription to the service again.
    void this.enable(true);
  }

  hookInfo(): PushHookInfo {
    return {
      state: this.state,
      message: this.el.message.textContent ?? "",
      endpoint: this.endpoint,
      id: this.target === null ? "" : (stored()[this.target.base] ?? ""),
    };
  }

  /** Turns notifications on for the team shown (renew: at load, for a team already on). */
  private async enable(renew = false): Promise<void> {
    const target = this.target;
    if (target === null || this.state === "unsupported") {
      this.render();
      return;
    }
    const attempt = ++this.attempt;
    const current = (): boolean => attempt === this.attempt;
    this.set("busy", renew ? "" : "Asking for permission…");
    try {
      const permission = renew ? Notification.permission : await Notification.requestPermission();
      if (!current()) {
        return;
      }
      if (permission !== "granted") {
        this.set(permission === "denied" ? "denied" : "off", permission === "denied" ? deniedText : "Notifications were not allowed.");
        return;
      }
      this.set("busy", "Registering the service worker…");
      const reg = await registerWorker();
      if (!current()) {
        return;
      }
      this.set("busy", "Subscribing…");
      const key = await apiJSON(target.base + PUSH_ROUTES.key, target.credentials, "Notifications");
      const publicKey = typeof key?.publicKey === "string" ? key.publicKey : "";
      if (publicKey === "") {
        throw new ApiError("Notifications: the service gave no VAPID public key", 0);
      }
      const sub = await withTimeout(subscription(reg, base64urlDecode(publicKey)), SUBSCRIBE_TIMEOUT_MS, "the browser's push service did not answer");
      if (!current()) {
        return;
      }
      this.set("busy", "Saving the subscription…");
      const saved = await apiJSON(target.base + PUSH_ROUTES.subscriptions, target.credentials, "Notifications", {
        method: "POST",
        body: sub.toJSON(),
      });
      if (!current()) {
        return;
      }
      const id = typeof saved?.id === "string" ? saved.id : "";
      remember(target.base, id);
      this.endpoint = sub.endpoint;
      this.set("on", `Alerts of ${target.team} are sent to this browser, even with the map closed.`);
    } catch (err) {
      if (current()) {
        this.set("failed", `Notifications could not be turned on: ${errorText(err)}`);
      }
    }
  }

  /** Turns notifications off for the team shown. */
  private async disable(): Promise<void> {
    const target = this.target;
    if (target === null || this.state === "unsupported") {
      this.render();
      return;
    }
    const attempt = ++this.attempt;
    this.set("busy", "Unsubscribing…");
    try {
      const id = stored()[target.base];
      if (id !== undefined && id !== "") {
        try {
          await apiJSON(target.base + PUSH_ROUTES.subscription(id), target.credentials, "Notifications", { method: "DELETE" });
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) {
            throw err; // 404: gone already
          }
        }
      }
      forget(target.base);
      // The browser's subscription goes once no other team uses it.
      if (Object.keys(stored()).length === 0) {
        const reg = await navigator.serviceWorker.getRegistration(SW_SCOPE);
        await (await reg?.pushManager.getSubscription())?.unsubscribe();
      }
      if (attempt === this.attempt) {
        this.endpoint = "";
        this.set("off", `Alerts of ${target.team} are no longer sent to this browser.`);
      }
    } catch (err) {
      if (attempt === this.attempt) {
        this.set("failed", `Notifications could not be turned off: ${errorText(err)}`);
      }
    }
  }

  private set(state: PushState, message: string): void {
    this.state = state;
    this.el.message.textContent = message;
    this.el.message.hidden = message === "";
    this.render();
  }

  private render(): void {
    const t = this.el.toggle;
    t.checked = this.state === "on" || (this.state === "busy" && t.checked);
    t.disabled = this.state === "unsupported" || this.state === "busy" || this.target === null;
    t.closest("label")?.setAttribute("data-state", this.state);
    document.body.dataset.push = this.state;
  }
}

const deniedText = "Notifications are blocked for this site: allow them in the browser's site settings.";

function supported(): boolean {
  return window.isSecureContext && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** Registers the service worker (again: the browser checks it for an update) and waits until it is active. */
async function registerWorker(): Promise<ServiceWorkerRegistration> {
  await navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE });
  return navigator.serviceWorker.ready;
}

/**
 * The browser's push subscription for the key: the one it has, if it was
 * made with that key, else a new one (a subscription made with another key
 * is replaced: the service could not push to it).
 */
async function subscription(reg: ServiceWorkerRegistration, key: Uint8Array<ArrayBuffer>): Promise<PushSubscription> {
  const existing = await reg.pushManager.getSubscription();
  if (existing !== null) {
    const had = existing.options.applicationServerKey;
    if (had !== null && had !== undefined && sameBytes(new Uint8Array(had), key)) {
      return existing;
    }
    await existing.unsubscribe();
    localStorage.removeItem(STORAGE_KEY); // the other teams' subscriptions went with it
  }
  return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
}

/** p, or a rejection saying what when it takes longer than ms. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: number | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = window.setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => window.clearTimeout(timer));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The bytes of unpadded (or padded) base64url. */
export function base64urlDecode(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    out[i] = bin.charCodeAt(i);
  }
  return out;
}

/** The subscriptions this browser has, by team path: the service's id of each. */
function stored(): Record<string, string> {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}");
    return typeof v === "object" && v !== null ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function remember(base: string, id: string): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...stored(), [base]: id }));
}

function forget(base: string): void {
  const all = stored();
  delete all[base];
  localStorage.setItem(STORAGE_KEY, JSON.stringify(all));
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    return err.message;
  }
  if (err instanceof DOMException) {
    return `${err.name}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
