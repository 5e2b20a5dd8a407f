// The alert record of docs/API.md ("Alert events and webhooks") and how the
// view words it: the alerts panel and the service worker's notifications
// (sw/sw.ts) say the same. No DOM here: the service worker imports it.
//
//   {"id":"6f1c...","kind":"enter","team":"team_one","workerId":"w-17",
//    "fenceId":"depot","name":"Depot","location":{"latitude":-23.55,"longitude":-46.63},
//    "timeStamp":"2026-11-22T13:21:04.123Z"}
//
// kind: enter, exit, dwell (with fenceId); apart, together (with ruleId and
// peerId); alone, joined (with ruleId). name: the fence's or rule's.

export interface Alert {
  id: string;
  kind: string;
  team: string;
  workerId: string;
  /** The fence's or rule's name at the time. */
  name: string;
  fenceId?: string;
  ruleId?: string;
  /** The other worker of an apart or together alert. */
  peerId?: string;
  lat?: number;
  lng?: number;
  /** ms since the epoch (the record's timeStamp); NaN when it has none. */
  time: number;
}

/** The alert in a record (parsed JSON); null when it is not one. */
export function alertOf(v: unknown): Alert | null {
  if (typeof v !== "object" || v === null) {
    return null;
  }
  const r = v as Record<string, unknown>;
  if (typeof r.id !== "string" || r.id === "" || typeof r.kind !== "string" || typeof r.workerId !== "string") {
    return null;
  }
  const str = (x: unknown): string | undefined => (typeof x === "string" && x !== "" ? x : undefined);
  const loc = r.location as Record<string, unknown> | undefined;
  const lat = typeof loc?.latitude === "number" && Math.abs(loc.latitude) <= 90 ? loc.latitude : undefined;
  const lng = typeof loc?.longitude === "number" && Math.abs(loc.longitude) <= 180 ? loc.longitude : undefined;
  return {
    id: r.id,
    kind: r.kind,
    team: str(r.team) ?? "",
    workerId: r.workerId,
    name: str(r.name) ?? str(r.fenceId) ?? str(r.ruleId) ?? "",
    fenceId: str(r.fenceId),
    ruleId: str(r.ruleId),
    peerId: str(r.peerId),
    lat: lat !== undefined && lng !== undefined ? lat : undefined,
    lng: lat !== undefined && lng !== undefined ? lng : undefined,
    time: typeof r.timeStamp === "string" ? Date.parse(r.timeStamp) : NaN,
  };
}

/** Each kind in one word, for titles and badges. */
const KIND_WORDS: Record<string, string> = {
  enter: "entered",
  exit: "left",
  dwell: "dwelling",
  apart: "apart",
  together: "together",
  alone: "alone",
  joined: "joined",
};

/** Each kind as a verb of a sentence about the worker. */
const KIND_VERBS: Record<string, string> = {
  enter: "entered",
  exit: "left",
  dwell: "is dwelling in",
  apart: "is apart",
  together: "is back together",
  alone: "is alone",
  joined: "has company again",
};

/** "entered", "left", "dwelling", ...: the kind in one word (an unknown kind as it is). */
export function kindLabel(kind: string): string {
  return KIND_WORDS[kind] ?? kind;
}

/** Whether the kind is a fence's (enter, exit, dwell) rather than a proximity rule's. */
export function isFenceKind(kind: string): boolean {
  return kind === "enter" || kind === "exit" || kind === "dwell";
}

/**
 * The notification's title: the worker and the kind in a word
 * ("w-17 entered", "w-17 dwelling", "w-3 apart").
 */
export function alertTitle(a: Alert): string {
  return `${a.workerId} ${kindLabel(a.kind)}`;
}

/**
 * The notification's body: the fence or rule, the peer of an apart or
 * together alert, and the team ("Depot · team_one",
 * "Buddy system, from w-2 · team_one").
 */
export function alertBody(a: Alert): string {
  const what = a.peerId ? `${a.name}, ${a.kind === "together" ? "with" : "from"} ${a.peerId}` : a.name;
  return a.team ? `${what} · ${a.team}` : what;
}

/** One line for the alerts panel: "w-17 entered Depot", "w-3 is apart from w-2 (Buddy system)". */
export function alertSentence(a: Alert): string {
  const verb = KIND_VERBS[a.kind] ?? a.kind;
  if (isFenceKind(a.kind)) {
    return `${a.workerId} ${verb} ${a.name}`;
  }
  if (a.peerId) {
    return `${a.workerId} ${verb} ${a.kind === "together" ? "with" : "from"} ${a.peerId} (${a.name})`;
  }
  return `${a.workerId} ${verb} (${a.name})`;
}
