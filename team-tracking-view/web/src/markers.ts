// Worker markers drawn on one canvas: a coloured arrow rotated to the
// heading (a dot while the heading is unknown) and the worker's id as a
// label.
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
  readonly colour: string;
  /** Where the marker is drawn now. */
  lat: number;
  lng: number;
  heading: number | null;
  status: Status;
  /** Layer point of the last draw, for hit testing. */
  x: number;
  y: number;
  /** Device pixel on the canvas, and the image, of the last paint (null: not painted). */
  px: number;
  py: number;
  drawn: Sprite2D | null;
  /** Cached images and what they were drawn for. */
  arrow: Sprite2D | null;
  arrowKey: string;
  label: Sprite2D | null;
  labelKey: string;
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
/** Labels are drawn while at most this many markers are in view. */
const LABEL_LIMIT = 150;
/** Pointer distance in px within which a marker counts as hovered. */
const HIT_RADIUS = 12;

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
  /** One painter per image kind, shared by all sprites: a 2D context is costly to make. */
  private readonly arrowPainter = new Painter();
  private readonly labelPainter = new Painter();

  add(s: Sprite): void {
    this.sprites.set(s.id, s);
    this.stale = true;
  }

  clear(): void {
    for (const s of this.sprites.values()) {
      release(s.arrow);
      release(s.label);
    }
    this.sprites.clear();
    this.stale = true;
    this.draw();
  }

  setLabels(on: boolean): void {
    this.labels = on;
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
   * Draws every sprite where it is now. Nothing is repainted when no marker
   * moved by a whole pixel or changed its image (walking workers at city
   * zoom move less than a pixel per frame).
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
    for (const s of this.sprites.values()) {
      const p = map.latLngToLayerPoint([s.lat, s.lng]);
      s.x = p.x;
      s.y = p.y;
      // Device pixels, rounded: whole-pixel copies are the fast path.
      const px = Math.round((p.x - this.origin.x) * ratio);
      const py = Math.round((p.y - this.origin.y) * ratio);
      if (px < -margin || py < -margin || px > canvas.width + margin || py > canvas.height + margin) {
        changed ||= s.drawn !== null;
        s.drawn = null;
        continue;
      }
      const img = this.arrowImage(s);
      changed ||= px !== s.px || py !== s.py || img !== s.drawn;
      s.px = px;
      s.py = py;
      s.drawn = img;
      visible.push(s);
    }
    if (!changed) {
      return;
    }
    this.stale = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (const s of visible) {
      const img = s.drawn!;
      ctx.globalAlpha = ALPHA[s.status];
      ctx.drawImage(img, s.px - img.width / 2, s.py - img.height / 2);
    }
    // Hundreds of labels only hide each other (and cost the most to
    // copy): past LABEL_LIMIT markers in view, zoom in to see them.
    if (this.labels && visible.length <= LABEL_LIMIT) {
      const dx = Math.round(12 * ratio);
      for (const s of visible) {
        const img = this.labelImage(s);
        ctx.globalAlpha = Math.max(ALPHA[s.status], 0.6);
        ctx.drawImage(img, s.px + dx, s.py - Math.round(img.height / 2));
      }
    }
    ctx.globalAlpha = 1;
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

  /** The sprite under a layer point, if any (the nearest one). */
  hit(p: L.Point): Sprite | null {
    let best: Sprite | null = null;
    let bestD = HIT_RADIUS * HIT_RADIUS;
    for (const s of this.sprites.values()) {
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
