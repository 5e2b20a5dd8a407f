// What the view shows, from three sources, later ones winning:
//   1. built-in defaults;
//   2. the server's config, a JSON <meta name="tracking-view-config"> that
//      the Go handler fills (tile URL, default strategy and team, teams);
//   3. the page URL's query: ?strategy=redis&team=team_one&tiles=none&trails=1&labels=0
// The URL is kept in step with the choices, so a view can be shared.

import { isValidId, jsonObject } from "./position";

export type Strategy = "redis" | "kafka";

const OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
const OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';

export interface ViewConfig {
  strategy: Strategy;
  team: string;
  /** Leaflet tile URL template, or "none" for the coordinate grid only. */
  tiles: string;
  attribution: string;
  /** Teams suggested in the team picker. */
  teams: string[];
  trails: boolean;
  labels: boolean;
  /** Other teams shown on the map too, each in its own colour family (the `also` parameter). */
  also: string[];
}

/** Other teams shown at once, at most. */
export const MAX_ALSO = 5;

/** The JSON of the meta tag, as the Go package writes it (view.Config). */
interface ServerConfig {
  tileURL?: string;
  tileAttribution?: string;
  defaultStrategy?: string;
  defaultTeam?: string;
  teams?: string[];
}

export function isStrategy(s: string | null | undefined): s is Strategy {
  return s === "redis" || s === "kafka";
}

/** The defaults of this deployment: built-in, then the server's config. */
export function defaults(doc: Document): ViewConfig {
  const content = doc.querySelector<HTMLMetaElement>('meta[name="tracking-view-config"]')?.content;
  const s = ((content && jsonObject(content)) || {}) as ServerConfig;
  const teams = Array.isArray(s.teams) ? s.teams.filter((t) => typeof t === "string" && isValidId(t)) : [];
  return {
    strategy: isStrategy(s.defaultStrategy) ? s.defaultStrategy : "redis",
    team: typeof s.defaultTeam === "string" && isValidId(s.defaultTeam) ? s.defaultTeam : "team_one",
    tiles: typeof s.tileURL === "string" && s.tileURL !== "" ? s.tileURL : OSM_TILES,
    attribution: typeof s.tileAttribution === "string" ? s.tileAttribution : OSM_ATTRIBUTION,
    teams: teams.length > 0 ? teams : ["team_one", "team_two"],
    trails: false,
    labels: true,
    also: [],
  };
}

/** The configuration for this page: defaults overridden by the query. */
export function fromURL(search: string, base: ViewConfig): ViewConfig {
  const q = new URLSearchParams(search);
  const cfg = { ...base };
  const strategy = q.get("strategy");
  if (isStrategy(strategy)) {
    cfg.strategy = strategy;
  }
  const team = q.get("team");
  if (team !== null && isValidId(team)) {
    cfg.team = team;
  }
  const tiles = q.get("tiles");
  if (tiles !== null && tiles !== "" && tiles !== base.tiles) {
    cfg.tiles = tiles;
    // Another tile server has its own terms; say whose tiles they are if
    // told. Leaflet shows attributions as HTML: escape what a link brings.
    cfg.attribution = escapeHTML(q.get("attribution") ?? "");
  }
  cfg.trails = flag(q.get("trails"), base.trails);
  cfg.labels = flag(q.get("labels"), base.labels);
  cfg.also = alsoTeams(q.get("also") ?? "", cfg.team);
  return cfg;
}

/** The valid, distinct teams of a comma-separated list, without the team shown; at most MAX_ALSO. */
export function alsoTeams(list: string, team: string): string[] {
  const out: string[] = [];
  for (const t of list.split(",").map((s) => s.trim())) {
    if (isValidId(t) && t !== team && !out.includes(t) && out.length < MAX_ALSO) {
      out.push(t);
    }
  }
  return out;
}

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function flag(v: string | null, fallback: boolean): boolean {
  return v === null ? fallback : v === "1" || v === "true" || v === "on";
}

/**
 * The query for a configuration: strategy and team always (so the address
 * says what is shown), other settings only when they differ from the
 * defaults. Parameters the view does not know are kept.
 */
export function toSearch(cfg: ViewConfig, base: ViewConfig, current: string): string {
  const q = new URLSearchParams(current);
  q.set("strategy", cfg.strategy);
  q.set("team", cfg.team);
  setOrDelete(q, "tiles", cfg.tiles !== base.tiles ? cfg.tiles : null);
  setOrDelete(q, "trails", cfg.trails !== base.trails ? (cfg.trails ? "1" : "0") : null);
  setOrDelete(q, "labels", cfg.labels !== base.labels ? (cfg.labels ? "1" : "0") : null);
  setOrDelete(q, "also", cfg.also.length > 0 ? cfg.also.join(",") : null);
  return `?${q.toString()}`;
}

function setOrDelete(q: URLSearchParams, key: string, value: string | null): void {
  if (value === null) {
    q.delete(key);
  } else {
    q.set(key, value);
  }
}
