// A coordinate grid drawn on transparent canvas tiles: over the bundled
// world basemap (basemap.ts) when tiles are off (tiles=none) or cannot load
// (no network), so positions stay readable; under the tiles otherwise.

import * as L from "leaflet";

/** Grid spacings in degrees, finest first. */
const STEPS = [
  0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 45, 90,
];

export class CoordinateGrid extends L.GridLayer {
  constructor() {
    super({ tileSize: 256, zIndex: 0, updateWhenZooming: false });
  }

  protected override createTile(coords: L.Coords): HTMLElement {
    const size = this.getTileSize();
    const ratio = window.devicePixelRatio || 1;
    const canvas = document.createElement("canvas");
    canvas.width = size.x * ratio;
    canvas.height = size.y * ratio;
    const ctx = canvas.getContext("2d");
    const map = (this as unknown as { _map?: L.Map })._map;
    if (ctx === null || map === undefined) {
      return canvas;
    }
    ctx.scale(ratio, ratio);
    const z = coords.z;
    const x0 = coords.x * size.x;
    const y0 = coords.y * size.y;
    const nw = map.unproject([x0, y0], z);
    const se = map.unproject([x0 + size.x, y0 + size.y], z);

    // About four lines across a tile (one per 64 px or more).
    const tileDegrees = Math.abs(se.lng - nw.lng);
    const step = STEPS.find((s) => s >= tileDegrees / 4) ?? 90;
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));

    const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
    const minor = dark ? "rgba(148,163,184,0.18)" : "rgba(100,116,139,0.18)";
    const major = dark ? "rgba(148,163,184,0.35)" : "rgba(100,116,139,0.38)";
    const ink = dark ? "#94a3b8" : "#5b6675";
    ctx.lineWidth = 1;
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "top";

    // Meridians: lng maps linearly to x in Web Mercator.
    for (let lng = Math.ceil(nw.lng / step) * step; lng < se.lng; lng += step) {
      const x = Math.round(((lng - nw.lng) / (se.lng - nw.lng)) * size.x) + 0.5;
      ctx.strokeStyle = isMajor(lng, step) ? major : minor;
      line(ctx, x, 0, x, size.y);
      if (isLabelled(lng, step)) {
        // Right of the line, or left of it near the tile's edge (a canvas
        // tile cannot draw into its neighbour).
        // World copies east or west of the antimeridian show their real longitude.
        const text = formatDegrees(((((lng + 180) % 360) + 360) % 360) - 180, decimals, "E", "W");
        const width = ctx.measureText(text).width;
        const left = x + 3 + width <= size.x ? x + 3 : x - 3 - width;
        if (left >= 0) {
          ctx.fillStyle = ink;
          ctx.fillText(text, left, 3);
        }
      }
    }
    // Parallels: project each one, latitude is not linear in y.
    for (let lat = Math.ceil(se.lat / step) * step; lat < nw.lat; lat += step) {
      const y = Math.round(map.project([lat, nw.lng], z).y - y0) + 0.5;
      ctx.strokeStyle = isMajor(lat, step) ? major : minor;
      line(ctx, 0, y, size.x, y);
      if (isLabelled(lat, step)) {
        ctx.fillStyle = ink;
        ctx.fillText(formatDegrees(lat, decimals, "N", "S"), 3, y + 14 <= size.y ? y + 2 : y - 12);
      }
    }
    return canvas;
  }
}

function line(ctx: CanvasRenderingContext2D, x1: number, y1: number, x2: number, y2: number): void {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}

/** Every fifth line is drawn a little darker. */
function isMajor(v: number, step: number): boolean {
  return Math.round(v / step) % 5 === 0;
}

/** Every other line has a label, so labels do not crowd. */
function isLabelled(v: number, step: number): boolean {
  return Math.round(v / step) % 2 === 0;
}

function formatDegrees(deg: number, decimals: number, positive: string, negative: string): string {
  const v = Math.abs(deg).toFixed(decimals);
  return Number(v) === 0 ? "0°" : `${v}°${deg > 0 ? positive : negative}`;
}
