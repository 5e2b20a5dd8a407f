// The view's service worker (served at /sw.js, scope /; registered by the
// notifications toggle, src/push.ts). It has no fetch handler: the page and
// its requests are never intercepted or cached. It does two things:
//
//   push               each push message is an alert record (docs/API.md,
//                      the same JSON as on the stream), sent by the tracking
//                      service to the subscription: shown as a notification
//                      whose title is the worker and the kind ("w-17
//                      entered") and whose body the fence or rule and the
//                      team ("Depot · team_one"), tagged with the alert's id
//                      (an alert delivered twice shows once). A message that
//                      is not an alert still shows something: a push
//                      subscription is userVisibleOnly.
//   notificationclick  focuses a window of the view (one showing the
//                      alert's team if there is one), which pans to the
//                      alert's place, or opens the view on that team.

import { alertBody, alertOf, alertTitle, type Alert } from "../src/alertformat";

declare const self: ServiceWorkerGlobalScope;

/** What a notification carries for its click. */
interface NotificationData {
  alert: unknown;
  team: string;
}

/** The message a window of the view gets when one of its notifications is clicked. */
const MESSAGE_TYPE = "tracking-alert";

self.addEventListener("install", () => {
  void self.skipWaiting(); // a new version takes over at once: it holds no state
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil(self.clients.claim());
});

self.addEventListener("push", (ev) => {
  ev.waitUntil(show(ev.data));
});

self.addEventListener("notificationclick", (ev) => {
  ev.notification.close();
  ev.waitUntil(focusView(ev.notification.data as NotificationData | null));
});

async function show(data: PushMessageData | null): Promise<void> {
  let record: unknown = null;
  try {
    record = data?.json();
  } catch {
    // not JSON: shown as text below
  }
  const a: Alert | null = alertOf(record);
  if (a === null) {
    const text = data?.text() ?? "";
    await self.registration.showNotification("Team tracking", { body: text.slice(0, 200) || "New alert", tag: "team-tracking" });
    return;
  }
  const payload: NotificationData = { alert: record, team: a.team };
  await self.registration.showNotification(alertTitle(a), {
    body: alertBody(a),
    tag: a.id,
    data: payload,
    ...(Number.isFinite(a.time) ? { timestamp: a.time } : {}),
  } as NotificationOptions);
}

async function focusView(data: NotificationData | null): Promise<void> {
  const team = typeof data?.team === "string" ? data.team : "";
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const ofTeam = windows.find((c) => new URL(c.url).searchParams.get("team") === team);
  const client = ofTeam ?? windows[0];
  if (client !== undefined) {
    const focused = await client.focus();
    focused.postMessage({ type: MESSAGE_TYPE, alert: data?.alert ?? null });
    return;
  }
  const url = new URL(self.registration.scope);
  if (team !== "") {
    url.searchParams.set("team", team);
  }
  await self.clients.openWindow(url.href);
}
