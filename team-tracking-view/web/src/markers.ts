// Worker markers drawn on one canvas: a coloured arrow rotated to the
// heading (a dot while the heading is unknown) and the worker's id as a
// label; below CLUSTER_MAX_ZOOM, workers close on screen are drawn as one
// bubble with their count (clusters split as you zoom in); labels are
// placed so that none overlaps another (or a marker): the selected worker's
// first, then those of moving workers, each beside its marker on the first
// free side (the side it had last, first), or not at all. The selected
// worker is never clustered, is ringed, and its accuracy is drawn as a
// circle under it.
//
// Why our own clustering rather than Leaflet.markercluster: the plugin
// makes one DOM marker per worker and re-clusters on zoom only, so moving
// workers cost DOM updates per position; here clustering is a grid pass
// over the positions already projected for the canvas (O(n) per repaint,
// under a millisecond for 2,000 workers: README, Performance).
//
// Why a canvas and cached images: with 500 workers moving, one DOM element
// per marker means 500 composited layers per frame, and drawing 500 paths
// and texts per frame is slow where the browser rasterises in software
// (no GPU, as in headless tests). So each worker's arrow and label are
// rendered once (again only when its status changes) into small
// images, and a frame only clears the canvas and copies those images,
// the arrow rotated to the heading.

import * as L from "leaflet";
import type { Status } from "./state";

export interface Sprite {
  readonly id: string;
  colour: string;
  /** Where the marker is drawn now. */
  lat: number;
  lng: number;
  heading: number | null;
  status: Status;
  /** Layer point of the last draw, for hit testing. */
  x: number;
  y: number;
  /** Device pixel on the canvas, and the arrow image, of the last paint (null: none yet). */
  px: number;
  py: number;
  drawn: Sprite2D | null;
  /** Whether it was on the canvas at the last draw (on its own or in a cluster). */
  inView: boolean;
  /** Whether its device pixel changed in this draw. */
  moved: boolean;
  /** Cached images and what they were drawn for. */
  arrow: Sprite2D | null;
  arrowKey: string;
  label: Sprite2D | null;
  labelKey: string;
  /** Whether it is moving now (its label is placed before those of still workers). */
  moving: boolean;
  /** Metres of its position's accuracy (0: unknown); drawn for the selected worker. */
  accuracy: number;
  /** Side its label was placed on last (index into LABEL_SIDES; -1: none). */
  labelSide: number;
}

/** A cluster as drawn: where (container px), how many workers, which. */
export interface ClusterInfo {
  x: number;
  y: number;
  count: number;
  ids: string[];
}

/** A label as drawn: its box in container px. */
export interface LabelBox {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** What the last repaint drew, for the test hook. */
export interface LayoutInfo {
  zoom: number;
  /** Workers drawn as their own marker. */
  markers: number;
  clusters: ClusterInfo[];
  labels: LabelBox[];
  /** Workers outside the canvas (not drawn). */
  outside: number;
  selected: string | null;
}

/**
 * A small pre-rendered image. An ImageBitmap where the browser can make one
 * at once (OffscreenCanvas): copying it costs less than copying a canvas,
 * which the browser must snapshot first.
 */
export type Sprite2D = ImageBitmap | HTMLCanvasElement;

/**
 * Paints small images, one after the other. It keeps one OffscreenCanvas
 * (and its context) for all of them, and hands each result over as an
 * ImageBitmap; without OffscreenCanvas, each paint is a new canvas element.
 */
class Painter {
  private readonly offscreenCtx = typeof OffscreenCanvas === "undefined" ? null : new OffscreenCanvas(1, 1).getContext("2d");
  private element: HTMLCanvasElement | null = null;

  /** A cleared context of width x height device pixels, identity transform. */
  begin(width: number, height: number): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D {
    const ctx = this.offscreenCtx;
    if (ctx !== null) {
      if (ctx.canvas.width !== width || ctx.canvas.height !== height) {
        ctx.canvas.width = width;
        ctx.canvas.height = height;
      }
      ctx.reset();
      return ctx;
    }
    this.element = document.createElement("canvas");
    this.element.width = width;
    this.element.height = height;
    return this.element.getContext("2d")!;
  }

  finish(): Sprite2D {
    return this.offscreenCtx?.canvas.transferToImageBitmap() ?? this.element!;
  }
}

/** Arrow pointing north, centred on (0, 0), within a 22 px box. */
const ARROW = new Path2D("M0 -9.5 L7.5 8 L0 4 L-7.5 8 Z");
const DOT = new Path2D();
DOT.arc(0, 0, 6.5, 0, 2 * Math.PI);
/** Arrows turn in steps of this many degrees (each step is a new image). */
const HEADING_STEP = 5;
const MARKER_BOX = 24;
const LABEL_FONT = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const LABEL_HEIGHT = 16;
/**
 * How each status looks: online in the worker's colour with a white
 * outline; idle faded, with a thick amber outline; offline grey with a dark
 * outline, faded more.
 */
const ALPHA: Record<Status, number> = { online: 1, idle: 0.8, offline: 0.55 };
const OUTLINE: Record<Status, { colour: string; width: number }> = {
  online: { colour: "#fff", width: 1.5 },
  idle: { colour: "#d97706", width: 2.5 },
  offline: { colour: "#4b5563", width: 1.5 },
};
const OFFLINE_COLOUR = "#8b95a3";
/** The canvas reaches this far beyond the view (share of its size), so a short pan shows markers at once. */
const PADDING = 0.1;
/**
 * Arrow images redrawn per repaint at most for a new heading (the others
 * keep their previous heading a frame or two longer): with 2,000 workers
 * turning, redrawing every arrow that crossed a step at once makes a slow
 * frame. A new status is always drawn at once.
 */
const ARROW_BUDGET = 24;
/** A cluster's fill: one team shown; workers of several teams. */
const CLUSTER_FILL = "#1d4ed8";
const MIXED_CLUSTER_FILL = "#4b5563";
/** Web Mercator as Leaflet's EPSG:3857 computes it (so that hit tests and the hook agree). */
const EARTH_RADIUS = 6_378_137;
const MAX_LATITUDE = 85.0511287798;
const MERCATOR_SCALE = 0.5 / (Math.PI * EARTH_RADIUS);
/** Pointer distance in px within which a marker counts as hovered. */
const HIT_RADIUS = 12;
/** At this zoom and above, every worker is drawn on its own. */
export const CLUSTER_MAX_ZOOM = 18;
/** Workers within one cell of this many CSS px (of the map's pixel grid) form a cluster. */
const CLUSTER_CELL = 56;
/**
 * A change of the clusters only (a count, a rounded centre) repaints at most
 * this often, in ms; a marker drawn on its own that moves repaints at once.
 * With 2,000 workers moving at city zoom, workers cross from one cluster's
 * cell to another's dozens of times a second: a repaint of the whole canvas
 * at every display frame for a count that changes by one.
 */
const CLUSTER_REPAINT_MS = 100;
/** Labels placed per repaint at most (they are what costs the most to copy). */
const LABEL_LIMIT = 400;
/** Space kept between a label and its marker's centre, CSS px. */
const LABEL_GAP = 11;
/** Half the box a marker covers, CSS px (labels keep out of it). */
const MARKER_HALF = 8;
/** Candidate places of a label: right, left, above, below its marker. */
const LABEL_SIDES = 4;
/** Cell of the grid that finds overlapping boxes, CSS px. */
const BOX_CELL = 64;

/** A box in CSS px of the canvas. */
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Boxes in a grid of cells: whether a new box overlaps one already in.
 * Each box is kept in every cell it touches.
 */
class BoxGrid {
  private readonly cells = new Map<number, Box[]>();

  clear(): void {
    this.cells.clear();
  }

  private key(cx: number, cy: number): number {
    return (cx + 4096) * 8192 + (cy + 4096);
  }

  add(b: Box): void {
    for (let cx = Math.floor(b.x / BOX_CELL); cx <= Math.floor((b.x + b.w) / BOX_CELL); cx++) {
      for (let cy = Math.floor(b.y / BOX_CELL); cy <= Math.floor((b.y + b.h) / BOX_CELL); cy++) {
        const k = this.key(cx, cy);
        const list = this.cells.get(k);
        if (list === undefined) {
          this.cells.set(k, [b]);
        } else {
          list.push(b);
        }
      }
    }
  }

  /** Whether b overlaps a box in the grid other than except. */
  hits(b: Box, except: Box | null): boolean {
    for (let cx = Math.floor(b.x / BOX_CELL); cx <= Math.floor((b.x + b.w) / BOX_CELL); cx++) {
      for (let cy = Math.floor(b.y / BOX_CELL); cy <= Math.floor((b.y + b.h) / BOX_CELL); cy++) {
        const list = this.cells.get(this.key(cx, cy));
        if (list === undefined) {
          continue;
        }
        for (const o of list) {
          if (o !== except && b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h) {
            return true;
          }
        }
      }
    }
    return false;
  }
}

/** A cluster being built during a repaint. */
interface Cluster {
  members: Sprite[];
  /** Sum of the members' device px, for the mean. */
  sx: number;
  sy: number;
}

export class WorkerLayer extends L.Layer {
  private readonly sprites = new Map<string, Sprite>();
  private canvas: HTMLCanvasElement | null = null;
  private ctx: CanvasRenderingContext2D | null = null;
  /** Layer point of the canvas's top-left corner. */
  private origin = L.point(0, 0);
  private ratio = 1;
  private labels = true;
  /** Whether the next draw must repaint. */
  private stale = true;
  /** Scratch list of the sprites in view, reused by every draw. */
  private readonly visible: Sprite[] = [];
  /** Scratch list of the sprites drawn on their own (not in a cluster). */
  private readonly singles: Sprite[] = [];
  /** One painter per image kind, shared by all sprites: a 2D context is costly to make. */
  private readonly arrowPainter = new Painter();
  private readonly labelPainter = new Painter();
  private readonly bubblePainter = new Painter();
  /** Cluster bubbles by count (and pixel ratio). */
  private readonly bubbles = new Map<string, Sprite2D>();
  private readonly cells = new Map<number, Cluster>();
  /** Each cluster's count and rounded centre at the last draw, by cell. */
  private clusterSignatures = new Map<number, number>();
  private readonly boxes = new BoxGrid();
  private selectedId: string | null = null;
  /** What the last repaint drew: clusters (layer px centre, radius), labels (canvas CSS px). */
  private drawnClusters: { x: number; y: number; r: number; members: Sprite[] }[] = [];
  private drawnLabels: (Box & { id: string })[] = [];
  private drawnZoom = 0;
  private drawnOutside = 0;
  /** New-heading arrows still allowed in this repaint. */
  private arrowBudget = 0;
  /** performance.now() of the last repaint. */
  private paintedAt = -Infinity;
  /**
   * Whether a change of the clusters waits for its repaint (CLUSTER_REPAINT_MS):
   * the map keeps drawing frames until it is done.
   */
  deferred = false;
  /**
   * Hue of each team's colour family while several are shown ("" the
   * team's own, else the other teams by name): a cluster of one team's
   * workers is drawn in it, a mixed one in grey. Empty: one team, blue.
   */
  private teamHues = new Map<string, number>();

  setTeamHues(hues: Map<string, number>): void {
    this.teamHues = hues;
    this.stale = true;
  }

  /** The fill of a cluster's bubble. */
  private clusterFill(members: Sprite[]): string {
    if (this.teamHues.size === 0) {
      return CLUSTER_FILL;
    }
    const teamOf = (s: Sprite): string => {
      const slash = s.id.indexOf("/");
      return slash < 0 ? "" : s.id.slice(0, slash);
    };
    const team = teamOf(members[0]);
    const hue = this.teamHues.get(team);
    if (hue === undefined || members.some((m) => teamOf(m) !== team)) {
      return MIXED_CLUSTER_FILL;
    }
    return `hsl(${hue} 70% 40%)`;
  }

  add(s: Sprite): void {
    this.sprites.set(s.id, s);
    this.stale = true;
  }

  /** Removes one sprite (a team no longer shown). */
  removeSprite(id: string): void {
    const s = this.sprites.get(id);
    if (s !== undefined) {
      release(s.arrow);
      release(s.label);
      this.sprites.delete(id);
      this.stale = true;
    }
  }

  clear(): void {
    for (const s of this.sprites.values()) {
      release(s.arrow);
      release(s.label);
    }
    this.sprites.clear();
    this.selectedId = null;
    this.stale = true;
    this.draw();
  }

  setLabels(on: boolean): void {
    this.labels = on;
    this.stale = true;
    this.draw();
  }

  /** Rings a worker (never clustered, its label placed first, its accuracy drawn); null: none. */
  setSelected(id: string | null): void {
    this.selectedId = id;
    this.stale = true;
    this.draw();
  }

  override onAdd(map: L.Map): this {
    const canvas = document.createElement("canvas");
    canvas.className = "worker-canvas leaflet-zoom-hide";
    map.getPane("overlayPane")!.appendChild(canvas);
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.reset();
    return this;
  }

  override onRemove(): this {
    this.canvas?.remove();
    this.canvas = null;
    this.ctx = null;
    return this;
  }

  override getEvents(): { [name: string]: L.LeafletEventHandlerFn } {
    return { moveend: this.reset, zoomend: this.reset, viewreset: this.reset, resize: this.reset };
  }

  /** Places and sizes the canvas over the view (plus padding) and redraws. */
  private readonly reset = (): void => {
    const map = this._map;
    const canvas = this.canvas;
    if (!map || canvas === null) {
      return;
    }
    const size = map.getSize();
    const pad = size.multiplyBy(PADDING).round();
    this.origin = map.containerPointToLayerPoint([0, 0]).subtract(pad).round();
    const width = size.x + 2 * pad.x;
    const height = size.y + 2 * pad.y;
    const ratio = window.devicePixelRatio || 1;
    if (ratio !== this.ratio) {
      // Cached images are drawn for one pixel ratio (a browser zoom changes it).
      this.ratio = ratio;
      for (const s of this.sprites.values()) {
        s.arrowKey = "";
        s.labelKey = "";
      }
      this.bubbles.clear();
    }
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    L.DomUtil.setPosition(canvas, this.origin);
    this.stale = true;
    this.draw();
  };

  /** Makes the next draw() repaint even if no marker moved a pixel. */
  invalidate(): void {
    this.stale = true;
  }

  /**
   * Draws every sprite where it is now: clusters below CLUSTER_MAX_ZOOM,
   * the others on their own, then the labels that find room. Nothing is
   * repainted when no marker moved by a whole pixel or changed its image
   * (walking workers at city zoom move less than a pixel per frame), and a
   * change of the clusters alone at most every CLUSTER_REPAINT_MS.
   */
  draw(): void {
    const map = this._map;
    const ctx = this.ctx;
    const canvas = this.canvas;
    if (!map || ctx === null || canvas === null) {
      return;
    }
    const ratio = this.ratio;
    const margin = MARKER_BOX * ratio;
    const visible = this.visible;
    visible.length = 0;
    let changed = this.stale;
    let outside = 0;
    // Layer points computed here rather than with map.latLngToLayerPoint
    // (the same formula, without two objects per worker per frame).
    const zoom = map.getZoom();
    const world = 256 * 2 ** zoom;
    const po = map.getPixelOrigin();
    const d = Math.PI / 180;
    for (const s of this.sprites.values()) {
      const sin = Math.sin(Math.max(Math.min(MAX_LATITUDE, s.lat), -MAX_LATITUDE) * d);
      s.x = (MERCATOR_SCALE * EARTH_RADIUS * s.lng * d + 0.5) * world - po.x;
      s.y = (-MERCATOR_SCALE * (EARTH_RADIUS * Math.log((1 + sin) / (1 - sin))) / 2 + 0.5) * world - po.y;
      // Device pixels, rounded: whole-pixel copies are the fast path.
      const px = Math.round((s.x - this.origin.x) * ratio);
      const py = Math.round((s.y - this.origin.y) * ratio);
      if (px < -margin || py < -margin || px > canvas.width + margin || py > canvas.height + margin) {
        changed ||= s.inView;
        s.inView = false;
        outside++;
        continue;
      }
      changed ||= !s.inView; // came into view
      s.moved = px !== s.px || py !== s.py;
      s.inView = true;
      s.px = px;
      s.py = py;
      visible.push(s);
    }

    // Clusters: the workers in one cell of the map's pixel grid (fixed to
    // the map, so a pan does not regroup them), two or more to a cell.
    const singles = this.singles;
    singles.length = 0;
    const clusters: Cluster[] = [];
    let selected: Sprite | null = null;
    /** Whether a cluster's count or centre changed, and the clusters' signatures of this draw. */
    let clustersChanged = false;
    let newSignatures = new Map<number, number>();
    if (zoom < CLUSTER_MAX_ZOOM) {
      const cells = this.cells;
      cells.clear();
      for (const s of visible) {
        if (s.id === this.selectedId) {
          selected = s;
          continue;
        }
        const key = Math.floor((s.x + po.x) / CLUSTER_CELL) * 2_097_152 + Math.floor((s.y + po.y) / CLUSTER_CELL);
        let c = cells.get(key);
        if (c === undefined) {
          c = { members: [], sx: 0, sy: 0 };
          cells.set(key, c);
        }
        c.members.push(s);
        c.sx += s.px;
        c.sy += s.py;
      }
      // A cluster is drawn again only when its count or its (rounded)
      // centre changed: workers moving inside clusters at low zoom do not
      // make the canvas repaint.
      const signatures = new Map<number, number>();
      for (const [key, c] of cells) {
        const n = c.members.length;
        if (n > 1) {
          clusters.push(c);
          const sig = n * 2 ** 40 + (Math.round(c.sx / n) + 50_000) * 2 ** 20 + (Math.round(c.sy / n) + 50_000);
          signatures.set(key, sig);
          clustersChanged ||= this.clusterSignatures.get(key) !== sig;
        } else {
          singles.push(c.members[0]);
        }
      }
      clustersChanged ||= signatures.size !== this.clusterSignatures.size;
      newSignatures = signatures;
      cells.clear();
    } else {
      changed ||= this.clusterSignatures.size > 0;
      for (const s of visible) {
        if (s.id === this.selectedId) {
          selected = s;
        } else {
          singles.push(s);
        }
      }
    }
    // Arrow images only for the workers drawn on their own.
    this.arrowBudget = ARROW_BUDGET;
    for (const s of singles) {
      const img = this.arrowImage(s);
      changed ||= s.moved || img !== s.drawn;
      s.drawn = img;
    }
    if (selected !== null) {
      const img = this.arrowImage(selected);
      changed ||= selected.moved || img !== selected.drawn;
      selected.drawn = img;
    }
    const now = performance.now();
    if (!changed && (!clustersChanged || now - this.paintedAt < CLUSTER_REPAINT_MS)) {
      // Only clusters changed, and the last repaint was recent: later (the
      // signatures stay those drawn, so the change is seen again).
      this.deferred = clustersChanged;
      return;
    }
    this.clusterSignatures = newSignatures;
    this.deferred = false;
    this.paintedAt = now;
    this.stale = false;
    this.drawnZoom = zoom;
    this.drawnOutside = outside;

    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (selected !== null && selected.accuracy > 0) {
      // Metres per CSS px at the worker's latitude (Web Mercator).
      const mpp = (40_075_016.686 * Math.cos((selected.lat * Math.PI) / 180)) / (256 * 2 ** zoom);
      const r = (selected.accuracy / mpp) * ratio;
      ctx.beginPath();
      ctx.arc(selected.px, selected.py, Math.max(r, 1), 0, 2 * Math.PI);
      ctx.fillStyle = "rgba(37,99,235,0.12)";
      ctx.fill();
      ctx.strokeStyle = "rgba(37,99,235,0.7)";
      ctx.lineWidth = 1.5 * ratio;
      ctx.stroke();
    }
    for (const s of singles) {
      const img = s.drawn!;
      ctx.globalAlpha = ALPHA[s.status];
      ctx.drawImage(img, s.px - img.width / 2, s.py - img.height / 2);
    }
    this.drawnClusters = [];
    ctx.globalAlpha = 1;
    for (const c of clusters) {
      const n = c.members.length;
      const x = Math.round(c.sx / n);
      const y = Math.round(c.sy / n);
      const img = this.bubbleImage(n, this.clusterFill(c.members));
      ctx.drawImage(img, x - img.width / 2, y - img.height / 2);
      this.drawnClusters.push({ x: x / ratio + this.origin.x, y: y / ratio + this.origin.y, r: img.width / ratio / 2, members: c.members });
    }
    if (selected !== null) {
      const img = selected.drawn!;
      ctx.globalAlpha = 1;
      ctx.beginPath();
      ctx.arc(selected.px, selected.py, 13 * ratio, 0, 2 * Math.PI);
      ctx.strokeStyle = "#111827";
      ctx.lineWidth = 2.5 * ratio;
      ctx.stroke();
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1 * ratio;
      ctx.stroke();
      ctx.globalAlpha = ALPHA[selected.status];
      ctx.drawImage(img, selected.px - img.width / 2, selected.py - img.height / 2);
      singles.push(selected);
    }
    this.placeLabels(ctx, singles, selected);
    ctx.globalAlpha = 1;
  }

  /**
   * Places and draws the labels of the workers drawn on their own: the
   * selected one's first (always, even over a marker), then the moving
   * ones', then the others', each on
   * the first side of its marker where it overlaps no label and no marker
   * (the side it had at the last repaint tried first, so labels do not
   * jump about); a label that finds no room is not drawn.
   */
  private placeLabels(ctx: CanvasRenderingContext2D, singles: Sprite[], selected: Sprite | null): void {
    this.drawnLabels = [];
    if (!this.labels) {
      return;
    }
    const ratio = this.ratio;
    const boxes = this.boxes;
    boxes.clear();
    const own = new Map<Sprite, Box>();
    for (const s of singles) {
      const b = { x: s.px / ratio - MARKER_HALF, y: s.py / ratio - MARKER_HALF, w: 2 * MARKER_HALF, h: 2 * MARKER_HALF };
      own.set(s, b);
      boxes.add(b);
    }
    for (const c of this.drawnClusters) {
      const x = c.x - this.origin.x;
      const y = c.y - this.origin.y;
      boxes.add({ x: x - c.r, y: y - c.r, w: 2 * c.r, h: 2 * c.r });
    }
    const order: Sprite[] = [];
    if (selected !== null) {
      order.push(selected);
    }
    for (const s of singles) {
      if (s !== selected && s.moving) {
        order.push(s);
      }
    }
    for (const s of singles) {
      if (s !== selected && !s.moving) {
        order.push(s);
      }
    }
    for (const s of order) {
      if (this.drawnLabels.length >= LABEL_LIMIT) {
        s.labelSide = -1;
        continue;
      }
      const img = this.labelImage(s);
      const w = img.width / ratio;
      const h = img.height / ratio;
      const x0 = s.px / ratio;
      const y0 = s.py / ratio;
      let placed = -1;
      for (let k = -1; k < LABEL_SIDES && placed < 0; k++) {
        const side = k < 0 ? s.labelSide : k;
        if (side < 0 || (k >= 0 && side === s.labelSide)) {
          continue;
        }
        // Device-pixel aligned, as drawn; one px of room all round.
        const bx = Math.round((side === 0 ? x0 + LABEL_GAP : side === 1 ? x0 - LABEL_GAP - w : x0 - w / 2) * ratio) / ratio;
        const by = Math.round((side === 2 ? y0 - LABEL_GAP - h : side === 3 ? y0 + LABEL_GAP : y0 - h / 2) * ratio) / ratio;
        const b = { x: bx - 1, y: by - 1, w: w + 2, h: h + 2 };
        // The selected worker's label is always drawn (first, so no label is in its way).
        if (s === selected || !boxes.hits(b, own.get(s) ?? null)) {
          boxes.add(b);
          placed = side;
          ctx.globalAlpha = Math.max(ALPHA[s.status], 0.6);
          ctx.drawImage(img, Math.round(bx * ratio), Math.round(by * ratio));
          this.drawnLabels.push({ id: s.id, x: bx, y: by, w, h });
        }
      }
      s.labelSide = placed;
    }
  }

  /** What the last repaint drew, in container px, for the test hook. */
  layoutInfo(): LayoutInfo {
    const map = this._map;
    const off = map ? map.layerPointToContainerPoint(this.origin) : L.point(0, 0);
    const lp = (x: number, y: number): L.Point => (map ? map.layerPointToContainerPoint([x, y]) : L.point(x, y));
    let markers = 0;
    for (const s of this.sprites.values()) {
      markers += s.inView ? 1 : 0;
    }
    const inClusters = this.drawnClusters.reduce((n, c) => n + c.members.length, 0);
    return {
      zoom: this.drawnZoom,
      markers: markers - inClusters,
      clusters: this.drawnClusters.map((c) => {
        const p = lp(c.x, c.y);
        return { x: p.x, y: p.y, count: c.members.length, ids: c.members.map((s) => s.id) };
      }),
      labels: this.drawnLabels.map((b) => ({ id: b.id, x: b.x + off.x, y: b.y + off.y, w: b.w, h: b.h })),
      outside: this.drawnOutside,
      selected: this.selectedId,
    };
  }

  /** The cluster under a layer point, if any: its members. */
  hitCluster(p: L.Point): Sprite[] | null {
    for (const c of this.drawnClusters) {
      if ((c.x - p.x) ** 2 + (c.y - p.y) ** 2 <= c.r * c.r) {
        return c.members;
      }
    }
    return null;
  }

  /** A cluster's bubble: a disc sized by the count, with the count; cached per count and fill. */
  private bubbleImage(n: number, fill: string): Sprite2D {
    const key = `${n}|${fill}`;
    const cached = this.bubbles.get(key);
    if (cached !== undefined) {
      return cached;
    }
    const ratio = this.ratio;
    const r = n < 10 ? 13 : n < 100 ? 16 : n < 1000 ? 19 : 22;
    const size = Math.ceil((2 * r + 4) * ratio);
    const ctx = this.bubblePainter.begin(size, size);
    ctx.setTransform(ratio, 0, 0, ratio, size / 2, size / 2);
    ctx.beginPath();
    ctx.arc(0, 0, r + 1.5, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.globalAlpha = 0.3;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.beginPath();
    ctx.arc(0, 0, r - 2, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.fillStyle = "#fff";
    ctx.font = `600 ${n < 1000 ? 12 : 11}px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(String(n), 0, 0.5);
    const img = this.bubblePainter.finish();
    this.bubbles.set(key, img);
    return img;
  }

  /**
   * The worker's arrow turned to its heading (to the nearest HEADING_STEP),
   * or its dot while the heading is unknown, in its status colour; cached,
   * and drawn again only when one of those changes.
   */
  private arrowImage(s: Sprite): Sprite2D {
    const colour = colourOf(s);
    const heading = s.heading === null ? null : (Math.round(s.heading / HEADING_STEP) * HEADING_STEP) % 360;
    const key = `${heading}|${colour}|${s.status}`;
    if (s.arrow !== null && s.arrowKey === key) {
      return s.arrow;
    }
    if (s.arrow !== null && this.arrowBudget <= 0 && s.arrowKey.endsWith(`|${colour}|${s.status}`)) {
      return s.arrow; // only the heading changed: next repaint
    }
    this.arrowBudget--;
    const ratio = this.ratio;
    const size = Math.ceil(MARKER_BOX * ratio);
    const ctx = this.arrowPainter.begin(size, size);
    ctx.setTransform(ratio, 0, 0, ratio, MARKER_BOX * ratio / 2, MARKER_BOX * ratio / 2);
    const outline = OUTLINE[s.status];
    ctx.fillStyle = colour;
    ctx.strokeStyle = outline.colour;
    ctx.lineWidth = outline.width;
    ctx.lineJoin = "round";
    let path = DOT;
    if (heading !== null) {
      ctx.rotate((heading * Math.PI) / 180);
      path = ARROW;
    }
    // A soft shadow lifts the marker off the map; the outline stays crisp.
    ctx.shadowColor = "rgba(0,0,0,0.35)";
    ctx.shadowBlur = 2;
    ctx.fill(path);
    ctx.shadowColor = "transparent";
    ctx.stroke(path);
    release(s.arrow);
    s.arrow = this.arrowPainter.finish();
    s.arrowKey = key;
    return s.arrow;
  }

  /** The worker's label, cached. */
  private labelImage(s: Sprite): Sprite2D {
    const colour = s.status === "idle" ? OUTLINE.idle.colour : colourOf(s);
    // Labels of other teams' workers name the team (their id is team/worker).
    if (s.label !== null && s.labelKey === colour) {
      return s.label;
    }
    const ratio = this.ratio;
    const width = this.measure(s.id) + 9;
    const ctx = this.labelPainter.begin(Math.ceil(width * ratio), Math.ceil(LABEL_HEIGHT * ratio));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "rgba(255,255,255,0.88)";
    ctx.fillRect(0, 0, width, LABEL_HEIGHT);
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, 3, LABEL_HEIGHT);
    ctx.font = LABEL_FONT;
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#1d2430";
    ctx.fillText(s.id, 6, LABEL_HEIGHT / 2 + 0.5);
    release(s.label);
    s.label = this.labelPainter.finish();
    s.labelKey = colour;
    return s.label;
  }

  /** Width of a label's text in CSS pixels. */
  private measure(text: string): number {
    const ctx = this.ctx;
    if (ctx === null) {
      return text.length * 7;
    }
    ctx.save();
    ctx.font = LABEL_FONT;
    const width = Math.ceil(ctx.measureText(text).width);
    ctx.restore();
    return width;
  }

  /** The sprite drawn on its own under a layer point, if any (the nearest one). */
  hit(p: L.Point): Sprite | null {
    let best: Sprite | null = null;
    let bestD = HIT_RADIUS * HIT_RADIUS;
    for (const s of this.singles) {
      const dx = s.x - p.x;
      const dy = s.y - p.y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        best = s;
        bestD = d;
      }
    }
    return best;
  }
}

function colourOf(s: Sprite): string {
  return s.status === "offline" ? OFFLINE_COLOUR : s.colour;
}

/** Frees an ImageBitmap's memory now rather than at garbage collection. */
function release(img: Sprite2D | null): void {
  if (img !== null && "close" in img) {
    img.close();
  }
}
