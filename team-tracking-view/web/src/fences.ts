// A team's geofences (docs/API.md, "Geofences") as the view reads, draws
// and writes them: GET|POST /tracking/{strategy}/{team}/geofences and
// GET|PUT|DELETE .../geofences/{id}, through the gateway.
//
// A fence's geometry is GeoJSON, positions [longitude, latitude]: a circle
// is a Point with a radius in metres, else a Polygon (outer ring, then
// holes; each ring closed) or a MultiPolygon. The view edits circles and
// polygons (a MultiPolygon's parts too); the schedule, which it does not
// edit, is sent back as it came.

import * as L from "leaflet";
import { apiJSON } from "./api";
import type { StreamCredentials } from "./auth";

type LngLat = [number, number];

/** A fence's geometry, as the API has it. */
export type FenceGeometry =
  | { type: "Point"; coordinates: LngLat; radius: number }
  | { type: "Polygon"; coordinates: LngLat[][] }
  | { type: "MultiPolygon"; coordinates: LngLat[][][] };

export interface Fence {
  id: string;
  name: string;
  geometry: FenceGeometry;
  /** A duration ("90s", "5m", "1h30m"); "" for none. */
  dwell: string;
  /** The schedule as the API gave it (the view shows it, and sends it back unchanged); null for none. */
  schedule: Record<string, unknown> | null;
  updatedAt: string;
}

/** What a POST or PUT sends: the path gives id and team, the server sets updatedAt. */
export interface FenceBody {
  name: string;
  geometry: FenceGeometry;
  dwell?: string;
  schedule?: Record<string, unknown>;
}

/** The fence in a record of the API; null when it is not one the view can show. */
export function fenceOf(v: unknown): Fence | null {
  if (typeof v !== "object" || v === null) {
    return null;
  }
  const r = v as Record<string, unknown>;
  const geometry = geometryOf(r.geometry);
  if (typeof r.id !== "string" || typeof r.name !== "string" || geometry === null) {
    return null;
  }
  return {
    id: r.id,
    name: r.name,
    geometry,
    dwell: typeof r.dwell === "string" ? r.dwell : "",
    schedule: typeof r.schedule === "object" && r.schedule !== null ? (r.schedule as Record<string, unknown>) : null,
    updatedAt: typeof r.updatedAt === "string" ? r.updatedAt : "",
  };
}

function geometryOf(v: unknown): FenceGeometry | null {
  if (typeof v !== "object" || v === null) {
    return null;
  }
  const g = v as Record<string, unknown>;
  const isPos = (p: unknown): p is LngLat =>
    Array.isArray(p) && p.length >= 2 && typeof p[0] === "number" && typeof p[1] === "number";
  const isRings = (rs: unknown): rs is LngLat[][] =>
    Array.isArray(rs) && rs.length > 0 && rs.every((r) => Array.isArray(r) && r.length >= 3 && r.every(isPos));
  switch (g.type) {
    case "Point":
      return isPos(g.coordinates) && typeof g.radius === "number" && g.radius > 0
        ? { type: "Point", coordinates: [g.coordinates[0], g.coordinates[1]], radius: g.radius }
        : null;
    case "Polygon":
      return isRings(g.coordinates) ? { type: "Polygon", coordinates: g.coordinates } : null;
    case "MultiPolygon":
      return Array.isArray(g.coordinates) && g.coordinates.length > 0 && g.coordinates.every(isRings)
        ? { type: "MultiPolygon", coordinates: g.coordinates as LngLat[][][] }
        : null;
    default:
      return null;
  }
}

/** "circle, 75 m", "polygon, 4 corners", "2 polygons": the shape in a few words. */
export function describeShape(g: FenceGeometry): string {
  switch (g.type) {
    case "Point":
      return `circle, ${formatMetres(g.radius)}`;
    case "Polygon": {
      const corners = g.coordinates[0].length - 1;
      const holes = g.coordinates.length - 1;
      return `polygon, ${corners} corners${holes > 0 ? `, ${holes} hole${holes > 1 ? "s" : ""}` : ""}`;
    }
    case "MultiPolygon":
      return `${g.coordinates.length} polygons`;
  }
}

function formatMetres(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(m >= 10_000 ? 0 : 1)} km` : `${Math.round(m)} m`;
}

/** The schedule in words ("mon tue wed thu fri, 07:00-18:30 America/Sao_Paulo"), "" for none. */
export function describeSchedule(s: Record<string, unknown> | null): string {
  if (s === null) {
    return "";
  }
  const days = Array.isArray(s.days) && s.days.length > 0 ? s.days.join(" ") : "every day";
  const from = typeof s.from === "string" ? s.from : "00:00";
  const to = typeof s.to === "string" ? s.to : "24:00";
  const tz = typeof s.tz === "string" ? s.tz : "UTC";
  return `${days}, ${from}-${to} ${tz}`;
}

/** Leaflet's [lat, lng] of a ring, without the closing position (Leaflet closes polygons itself). */
function ringLatLngs(ring: LngLat[]): L.LatLngTuple[] {
  const open = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.slice(0, -1) : ring;
  return open.map(([lng, lat]): L.LatLngTuple => [lat, lng]);
}

/** The Leaflet layer of a geometry: an L.Circle or an L.Polygon (several parts for a MultiPolygon). */
export function layerOf(g: FenceGeometry, options: L.PathOptions): L.Circle | L.Polygon {
  switch (g.type) {
    case "Point":
      return L.circle([g.coordinates[1], g.coordinates[0]], { ...options, radius: g.radius });
    case "Polygon":
      return L.polygon(g.coordinates.map(ringLatLngs), options);
    case "MultiPolygon":
      return L.polygon(g.coordinates.map((rings) => rings.map(ringLatLngs)), options);
  }
}

/** The geometry of a layer drawn or edited on the map; null when it is neither a circle nor a polygon. */
export function geometryOfLayer(layer: L.Layer): FenceGeometry | null {
  if (layer instanceof L.Circle) {
    const c = layer.getLatLng();
    return { type: "Point", coordinates: [round(c.lng), round(c.lat)], radius: Math.round(layer.getRadius() * 10) / 10 };
  }
  if (layer instanceof L.Polygon) {
    const g = layer.toGeoJSON(7).geometry;
    if (g.type === "Polygon") {
      return { type: "Polygon", coordinates: g.coordinates as LngLat[][] };
    }
    if (g.type === "MultiPolygon") {
      return { type: "MultiPolygon", coordinates: g.coordinates as LngLat[][][] };
    }
  }
  return null;
}

/** Degrees to 7 decimals (about a centimetre). */
function round(deg: number): number {
  return Math.round(deg * 1e7) / 1e7;
}

/** The fences of a team: its API path and credentials. */
export class FenceAPI {
  constructor(
    /** The team's path: /tracking/{strategy}/{team}. */
    private readonly base: string,
    private readonly credentials: StreamCredentials,
  ) {}

  /** The team's fences, by id. */
  async list(signal?: AbortSignal): Promise<Fence[]> {
    const body = await apiJSON(`${this.base}/geofences`, this.credentials, "Geofences", { signal });
    const list = Array.isArray(body?.geofences) ? body.geofences : [];
    return list.map(fenceOf).filter((f): f is Fence => f !== null);
  }

  /** Creates a fence (the server picks its id). */
  async create(body: FenceBody): Promise<Fence> {
    return this.answer(await apiJSON(`${this.base}/geofences`, this.credentials, "Geofence", { method: "POST", body }));
  }

  /** Replaces the fence id. */
  async put(id: string, body: FenceBody): Promise<Fence> {
    return this.answer(await apiJSON(this.url(id), this.credentials, "Geofence", { method: "PUT", body }));
  }

  async delete(id: string): Promise<void> {
    await apiJSON(this.url(id), this.credentials, "Geofence", { method: "DELETE" });
  }

  private url(id: string): string {
    return `${this.base}/geofences/${encodeURIComponent(id)}`;
  }

  private answer(body: Record<string, unknown> | null): Fence {
    const f = fenceOf(body);
    if (f === null) {
      throw new Error("Geofence: the answer is not a fence");
    }
    return f;
  }
}
