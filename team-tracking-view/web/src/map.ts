// The map: base layer (tiles, with the coordinate grid as fallback), one
// marker per worker (see markers.ts) styled by its status, smooth movement
// between positions, optional trails, a tooltip on hover, fit to team, one
// worker's trail from the history (a polyline with its start and end
// marked), the pane the geofences are drawn in (fences.ts) and a pulse
// where an alert happened. A worker can be selected (a click on its marker
// or its row): it is ringed, its accuracy drawn, and the map can follow it
// (kept centred until the user drags the map). Without tiles, a bundled
// world basemap (basemap.ts) is drawn under the coordinate grid.

import * as L from "leaflet";
import { WorldBasemap } from "./basemap";
import { CoordinateGrid } from "./grid";
import { WorkerLayer, type LayoutInfo, type Sprite } from "./markers";
import type { TrailPoint } from "./history";
import { formatAge, type Status, type Worker } from "./state";

export interface MapOptions {
  /** Leaflet URL template of the tiles, or "none" for the grid only. */
  tiles: string;
  attribution: string;
  labels: boolean;
  trails: boolean;
  /** Called once when the tiles fail and the map falls back to the grid. */
  onTilesUnavailable(): void;
  /** The worker's status in words, for its tooltip ("offline (disconnected) since 13:21:04"). */
  statusText(workerId: string, status: Status): string;
  /** The worker's latest message and its state in words, for its tooltip ("" when none). */
  messageText?(workerId: string): string;
  /** A click on a worker's marker. */
  onSelect?(workerId: string): void;
  /** Following stopped by itself (the user dragged the map). */
  onFollowStopped?(): void;
}

/** The pane of the geofences: over the tiles and grid, under the trails and markers (overlayPane, 400). */
export const FENCE_PANE = "fences";

/** Animations never run longer than this, so a silent worker does not creep. */
const MAX_ANIMATION_MS = 2_000;
/** Jumps longer than this (in degrees, roughly 5 km) are not animated. */
const MAX_ANIMATED_JUMP = 0.05;
/** Tile errors before any tile loaded that make the map give up on tiles. */
const TILE_ERRORS_BEFORE_FALLBACK = 2;
/** How long the mark of an alert's place stays. */
const PULSE_MS = 4_000;

/** A worker's trail from the history, as drawn. */
interface HistoryTrail {
  readonly worker: string;
  readonly line: L.Polyline;
  readonly start: L.CircleMarker;
  readonly end: L.CircleMarker;
}

/** What the history trail on the map is, for the test hook. */
export interface HistoryTrailInfo {
  worker: string;
  /** Points of the polyline. */
  points: number;
  start: { lat: number; lng: number };
  end: { lat: number; lng: number };
}

/** A worker on the map: its sprite, its movement and its trail. */
interface View {
  readonly sprite: Sprite;
  readonly worker: Worker;
  fromLat: number;
  fromLng: number;
  toLat: number;
  toLng: number;
  start: number;
  duration: number;
  trail: L.Polyline | null;
}

export class TrackingMap {
  readonly map: L.Map;
  private readonly views = new Map<string, View>();
  /**
   * The last status given for each key by setStatuses, markers or not: the
   * panel reports a status once, when it changes, and that can be before
   * the worker's marker is made (a reload's snapshot brings presence and
   * positions together; markers are made on the next animation frame).
   */
  private readonly statuses = new Map<string, Status>();
  private readonly animating = new Set<View>();
  private readonly workerLayer = new WorkerLayer();
  private readonly trailLayer = L.layerGroup();
  private readonly trailRenderer = L.canvas({ padding: 0.2 });
  private readonly tooltip = L.tooltip({ direction: "top", offset: [0, -12], opacity: 0.95 });
  private hovered: View | null = null;
  private pulseMarker: L.CircleMarker | null = null;
  /** Under the markers, over the recent trails. */
  private readonly historyLayer = L.layerGroup();
  private historyTrail: HistoryTrail | null = null;
  private tileLayer: L.TileLayer | null = null;
  private trails: boolean;
  /** The basemap drawn without tiles; null while tiles are in use. */
  private basemap: WorldBasemap | null = null;
  private selectedId: string | null = null;
  private followId: string | null = null;

  constructor(element: HTMLElement, private readonly options: MapOptions) {
    this.map = L.map(element, {
      center: [20, 0],
      zoom: 2,
      minZoom: 2,
      maxZoom: 19,
      worldCopyJump: true,
      preferCanvas: true,
    });
    this.map.attributionControl.setPrefix(false);
    this.map.createPane(FENCE_PANE).style.zIndex = "350";
    const grid = new CoordinateGrid().addTo(this.map);
    // The grid and the basemap are drawn in the scheme's colours: again when it changes.
    window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", () => {
      grid.redraw();
      this.basemap?.redraw();
    });
    if (options.tiles !== "none") {
      this.addTiles(options.tiles, options.attribution);
    } else {
      this.addBasemap();
    }
    this.trails = options.trails;
    this.trailLayer.addTo(this.map);
    this.historyLayer.addTo(this.map);
    this.workerLayer.addTo(this.map);
    this.workerLayer.setLabels(options.labels);
    this.map.on("mousemove", (e: L.LeafletMouseEvent) => this.hover(e.layerPoint));
    this.map.on("mouseout", () => this.hover(null));
    this.map.on("click", (e: L.LeafletMouseEvent) => this.click(e.layerPoint));
    this.map.on("dragstart", () => {
      if (this.followId !== null) {
        this.setFollow(false);
        this.options.onFollowStopped?.();
      }
    });
  }

  /** The bundled world basemap, under the grid: land, coastlines, borders (Natural Earth, 1:110m). */
  private addBasemap(): void {
    if (this.basemap === null) {
      this.basemap = new WorldBasemap();
      this.basemap.addTo(this.map);
    }
  }

  /** The basemap (null: tiles in use), for the test hook. */
  get basemapLayer(): WorldBasemap | null {
    return this.basemap;
  }

  /** A click on the map: a worker selects it; a cluster zooms in to its workers. */
  private click(p: L.Point): void {
    const s = this.workerLayer.hit(p);
    if (s !== null) {
      this.options.onSelect?.(s.id);
      return;
    }
    const members = this.workerLayer.hitCluster(p);
    if (members !== null) {
      const bounds = L.latLngBounds(members.map((m): L.LatLngTuple => [m.lat, m.lng]));
      const zoom = Math.min(this.map.getBoundsZoom(bounds.pad(0.1)), this.map.getMaxZoom());
      // At least two levels in, so that the cluster splits even when its workers are close.
      this.map.setView(bounds.getCenter(), Math.min(Math.max(zoom, this.map.getZoom() + 2), this.map.getMaxZoom()));
    }
  }

  /** Selects a worker (rings it, draws its accuracy) or none; following stops when another is chosen. */
  select(id: string | null): void {
    if (id !== this.followId) {
      this.followId = null;
    }
    this.selectedId = id;
    this.workerLayer.setSelected(id);
  }

  get selected(): string | null {
    return this.selectedId;
  }

  /** Keeps the selected worker centred (on), or stops (off). */
  setFollow(on: boolean): void {
    this.followId = on ? this.selectedId : null;
    if (this.followId !== null) {
      const v = this.views.get(this.followId);
      if (v !== undefined) {
        this.map.setView([v.sprite.lat, v.sprite.lng], this.map.getZoom(), { animate: false });
      }
    }
  }

  get following(): string | null {
    return this.followId;
  }

  /** What the worker layer drew last (clusters, labels), for the test hook. */
  layout(): LayoutInfo {
    return this.workerLayer.layoutInfo();
  }

  /** Pans (without animation) so that the followed worker is at the centre. */
  private keepFollowed(): void {
    const v = this.followId === null ? undefined : this.views.get(this.followId);
    if (v === undefined) {
      return;
    }
    const p = this.map.latLngToContainerPoint([v.sprite.lat, v.sprite.lng]);
    const offset = p.subtract(this.map.getSize().divideBy(2));
    if (Math.abs(offset.x) >= 1 || Math.abs(offset.y) >= 1) {
      this.map.panBy(offset, { animate: false });
    }
  }

  /** Whether the tile layer is in use (false: grid only). */
  get tilesActive(): boolean {
    return this.tileLayer !== null;
  }

  private addTiles(url: string, attribution: string): void {
    let loaded = 0;
    let failed = 0;
    const layer = L.tileLayer(url, { maxZoom: 19, attribution, zIndex: 1 });
    layer.on("tileload", () => loaded++);
    layer.on("tileerror", () => {
      failed++;
      // Nothing ever loaded: treat the tile server as unreachable and stop
      // asking it (each failed request is a network error in the console).
      if (loaded === 0 && failed >= TILE_ERRORS_BEFORE_FALLBACK && this.tileLayer === layer) {
        this.map.removeLayer(layer);
        this.tileLayer = null;
        this.addBasemap();
        this.options.onTilesUnavailable();
      }
    });
    layer.addTo(this.map);
    this.tileLayer = layer;
  }

  /**
   * Moves the worker's marker to its latest position, creating it on first
   * sight (returns true then). The marker glides there over the worker's
   * observed update interval, from where it is drawn now.
   */
  update(w: Worker, now: number, key = w.id): boolean {
    let v = this.views.get(key);
    const created = v === undefined;
    if (v === undefined) {
      const sprite: Sprite = { id: key, colour: w.colour, lat: w.lat, lng: w.lng, heading: w.heading, status: this.statuses.get(key) ?? "online",
        x: 0, y: 0, px: 0, py: 0, drawn: null, inView: false, moved: false, arrow: null, arrowKey: "", label: null, labelKey: "",
        moving: false, accuracy: w.accuracy ?? 0, labelSide: -1 };
      v = { sprite, worker: w, fromLat: w.lat, fromLng: w.lng, toLat: w.lat, toLng: w.lng, start: now, duration: 0, trail: null };
      this.views.set(key, v);
      this.workerLayer.add(sprite);
    } else {
      const s = v.sprite;
      const jump = Math.hypot(w.lat - s.lat, w.lng - s.lng);
      v.fromLat = s.lat;
      v.fromLng = s.lng;
      v.toLat = w.lat;
      v.toLng = w.lng;
      v.start = now;
      v.duration = jump > MAX_ANIMATED_JUMP ? 0 : Math.min(Math.max(w.interval, 100), MAX_ANIMATION_MS);
      v.sprite.heading = w.heading;
      v.sprite.accuracy = w.accuracy ?? 0;
      if (v.sprite.colour !== w.colour) {
        v.sprite.colour = w.colour; // its arrow and label are drawn again
        v.trail?.setStyle({ color: w.colour });
      }
      v.sprite.moving = jump > 1e-7 || (w.speed ?? 0) > 0.3;
    }
    this.animating.add(v);
    if (this.trails) {
      this.updateTrail(v);
    }
    return created;
  }

  /**
   * Advances the animations to now and redraws the markers; returns whether
   * an animation is still running (or a repaint of the clusters waits).
   */
  frame(now: number): boolean {
    if (this.animating.size === 0 && !this.workerLayer.deferred) {
      return false;
    }
    for (const v of this.animating) {
      const t = v.duration <= 0 ? 1 : Math.max(0, (now - v.start) / v.duration);
      if (t >= 1) {
        v.sprite.lat = v.toLat;
        v.sprite.lng = v.toLng;
        this.animating.delete(v);
      } else {
        v.sprite.lat = v.fromLat + (v.toLat - v.fromLat) * t;
        v.sprite.lng = v.fromLng + (v.toLng - v.fromLng) * t;
      }
    }
    this.keepFollowed();
    this.workerLayer.draw();
    if (this.hovered !== null) {
      this.tooltip.setLatLng([this.hovered.sprite.lat, this.hovered.sprite.lng]);
    }
    return this.animating.size > 0 || this.workerLayer.deferred;
  }

  /** Sets the statuses that changed; redraws once. */
  setStatuses(changes: [string, Status][]): void {
    let changed = false;
    for (const [id, status] of changes) {
      this.statuses.set(id, status);
      const v = this.views.get(id);
      if (v !== undefined && v.sprite.status !== status) {
        v.sprite.status = status;
        changed = true;
      }
    }
    if (changed) {
      this.workerLayer.invalidate();
      this.workerLayer.draw();
    }
  }

  /** Removes every marker and trail (another team was chosen). */
  clear(): void {
    this.hover(null);
    this.selectedId = null;
    this.followId = null;
    this.workerLayer.clear();
    this.trailLayer.clearLayers();
    this.views.clear();
    this.statuses.clear();
    this.animating.clear();
  }

  setLabels(on: boolean): void {
    this.workerLayer.setLabels(on);
  }

  setTrails(on: boolean): void {
    this.trails = on;
    this.trailLayer.clearLayers();
    for (const v of this.views.values()) {
      v.trail = null;
      if (on) {
        this.updateTrail(v);
      }
    }
  }

  /** Zooms to show every worker, if there is any. */
  fitToTeam(animate = true): void {
    const points = [...this.views.values()].map((v): L.LatLngTuple => [v.toLat, v.toLng]);
    if (points.length === 0) {
      return;
    }
    const bounds = L.latLngBounds(points);
    if (bounds.getNorthEast().equals(bounds.getSouthWest())) {
      this.map.setView(bounds.getCenter(), 16, { animate });
    } else {
      this.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17, animate });
    }
  }

  /**
   * Draws a worker's trail from the history (replacing the one shown): the
   * path, a hollow circle at its first position and a filled one at its
   * last, each with its time as tooltip; the map zooms to it.
   */
  showHistoryTrail(worker: string, colour: string, points: TrailPoint[], formatTime: (ms: number) => string): void {
    this.clearHistoryTrail();
    if (points.length === 0) {
      return;
    }
    const latlngs = points.map((p): L.LatLngTuple => [p.lat, p.lng]);
    const first = points[0];
    const last = points[points.length - 1];
    const line = L.polyline(latlngs, { renderer: this.trailRenderer, color: colour, weight: 4, opacity: 0.85, interactive: false });
    const end = (p: TrailPoint, what: string, filled: boolean): L.CircleMarker =>
      L.circleMarker([p.lat, p.lng], {
        renderer: this.trailRenderer,
        radius: 7,
        color: colour,
        weight: 3,
        fillColor: filled ? colour : "#fff",
        fillOpacity: 1,
      }).bindTooltip(`<strong>${worker}</strong> ${what}<br>${formatTime(p.time)}`, { direction: "top", offset: [0, -6] });
    this.historyTrail = { worker, line, start: end(first, "start", false), end: end(last, "end", true) };
    this.historyLayer.addLayer(line).addLayer(this.historyTrail.start).addLayer(this.historyTrail.end);
    const bounds = line.getBounds();
    if (bounds.getNorthEast().equals(bounds.getSouthWest())) {
      this.map.setView(bounds.getCenter(), Math.max(this.map.getZoom(), 16));
    } else {
      this.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 18 });
    }
  }

  clearHistoryTrail(): void {
    this.historyLayer.clearLayers();
    this.historyTrail = null;
  }

  /** The history trail drawn now, if any. */
  historyTrailInfo(): HistoryTrailInfo | null {
    const h = this.historyTrail;
    if (h === null) {
      return null;
    }
    const at = (m: L.CircleMarker): { lat: number; lng: number } => {
      const p = m.getLatLng();
      return { lat: p.lat, lng: p.lng };
    };
    return { worker: h.worker, points: (h.line.getLatLngs() as L.LatLng[]).length, start: at(h.start), end: at(h.end) };
  }

  /** Centres the map on a worker and shows its tooltip (unless tooltip is false: its card shows it). */
  focus(id: string, tooltip = true): void {
    const v = this.views.get(id);
    if (v !== undefined) {
      this.map.setView([v.sprite.lat, v.sprite.lng], Math.max(this.map.getZoom(), 15));
      if (tooltip) {
        this.showTooltip(v);
      }
    }
  }

  /**
   * Centres the map on a place (where an alert happened) and marks it with
   * a pulse for a few seconds.
   */
  pulse(lat: number, lng: number): void {
    this.map.setView([lat, lng], Math.max(this.map.getZoom(), 16));
    this.pulseMarker?.remove();
    const marker = L.circleMarker([lat, lng], {
      radius: 16,
      color: "#dc2626",
      weight: 3,
      fillOpacity: 0.15,
      interactive: false,
      className: "alert-pulse",
    }).addTo(this.map);
    this.pulseMarker = marker;
    window.setTimeout(() => {
      marker.remove();
      if (this.pulseMarker === marker) {
        this.pulseMarker = null;
      }
    }, PULSE_MS);
  }

  /**
   * Removes the markers whose key starts with prefix (another team's,
   * "team/"), when that team is no longer shown.
   */
  removeWhere(prefix: string): void {
    for (const key of this.statuses.keys()) {
      if (key.startsWith(prefix)) {
        this.statuses.delete(key);
      }
    }
    for (const [key, v] of this.views) {
      if (key.startsWith(prefix)) {
        this.views.delete(key);
        this.animating.delete(v);
        v.trail?.remove();
        this.workerLayer.removeSprite(key);
        if (this.hovered === v) {
          this.hover(null);
        }
        if (this.selectedId === key) {
          this.select(null);
        }
      }
    }
    this.workerLayer.invalidate();
    this.workerLayer.draw();
  }

  /** The colour families of the teams shown (see WorkerLayer.setTeamHues). */
  setTeamHues(hues: Map<string, number>): void {
    this.workerLayer.setTeamHues(hues);
    this.workerLayer.draw();
  }

  /** Each marker's colour, for the test hook. */
  markerColours(): Record<string, string> {
    return Object.fromEntries([...this.views].map(([id, v]) => [id, v.sprite.colour]));
  }

  /** Each marker's status as drawn, for the test hook. */
  markerStatuses(): Record<string, Status> {
    return Object.fromEntries([...this.views].map(([id, v]) => [id, v.sprite.status]));
  }

  /** Where each marker is drawn now, for the test hook. */
  markerPositions(): Record<string, { lat: number; lng: number }> {
    return Object.fromEntries([...this.views].map(([id, v]) => [id, { lat: v.sprite.lat, lng: v.sprite.lng }]));
  }

  get markerCount(): number {
    return this.views.size;
  }

  private hover(p: L.Point | null): void {
    const s = p === null ? null : this.workerLayer.hit(p);
    const v = s === null ? null : (this.views.get(s.id) ?? null);
    if (v === this.hovered) {
      return;
    }
    this.map.getContainer().classList.toggle("over-worker", v !== null);
    if (v === null) {
      this.hovered = null;
      this.map.closeTooltip(this.tooltip);
      return;
    }
    this.showTooltip(v);
  }

  private showTooltip(v: View): void {
    this.hovered = v;
    const w = v.worker;
    const parts = [
      `<strong>${w.id}</strong>`,
      escapeHTML(this.options.statusText(w.id, v.sprite.status)),
      `seen ${formatAge(Date.now() - w.lastSeen)} ago`,
      w.speed !== undefined && `${w.speed.toFixed(1)} m/s`,
      w.heading !== null && `heading ${Math.round(w.heading)}°`,
      w.accuracy !== undefined && `±${Math.round(w.accuracy)} m`,
      escapeHTML(this.options.messageText?.(w.id) ?? ""),
    ];
    this.tooltip.setContent(parts.filter(Boolean).join("<br>")).setLatLng([v.sprite.lat, v.sprite.lng]);
    this.map.openTooltip(this.tooltip);
  }

  private updateTrail(v: View): void {
    const w = v.worker;
    if (v.trail === null) {
      v.trail = L.polyline(w.trail, {
        renderer: this.trailRenderer,
        color: w.colour,
        weight: 2,
        opacity: 0.6,
        interactive: false,
      }).addTo(this.trailLayer);
    } else {
      v.trail.setLatLngs(w.trail);
    }
  }
}

/** Text made safe for Leaflet's HTML tooltips. */
export function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
