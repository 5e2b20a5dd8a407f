// A low-detail world basemap drawn on canvas tiles, for when map tiles
// cannot be loaded (no internet) or are off (tiles=none): sea, land,
// coastlines and country borders from Natural Earth's 1:110m countries
// (public domain; the world-atlas package's TopoJSON). The data is a
// separate asset (about 105 KB, 35 KB gzipped), fetched only when the
// basemap is shown; until it has loaded, tiles wait for it.

import * as L from "leaflet";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import worldURL from "world-atlas/countries-110m.json?url";

/** Web Mercator's latitude limit: the poles are at infinity. */
const MAX_LAT = 85.0511;

/** A ring or line projected to the world's pixels at zoom 0 (256 px wide), with its bounds. */
interface Shape {
  /** x, y, x, y, ... */
  readonly xy: Float64Array;
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** A land polygon: its outer ring and holes. */
interface Polygon {
  readonly rings: Shape[];
}

interface World {
  land: Polygon[];
  borders: Shape[];
}

interface Palette {
  sea: string;
  land: string;
  coast: string;
  border: string;
}

const LIGHT: Palette = { sea: "#dbe7f0", land: "#f4f1e8", coast: "#9fb3c4", border: "#c9b9a6" };
const DARK: Palette = { sea: "#0f1b26", land: "#1f2630", coast: "#3c5266", border: "#4a4238" };

function palette(): Palette {
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? DARK : LIGHT;
}

function project(lng: number, lat: number): [number, number] {
  const phi = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  const x = ((lng + 180) / 360) * 256;
  const y = (0.5 - Math.log((1 + Math.sin(phi)) / (1 - Math.sin(phi))) / (4 * Math.PI)) * 256;
  return [x, y];
}

function shape(coords: number[][]): Shape {
  const xy = new Float64Array(coords.length * 2);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  coords.forEach(([lng, lat], i) => {
    const [x, y] = project(lng, lat);
    xy[2 * i] = x;
    xy[2 * i + 1] = y;
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  });
  return { xy, minX, minY, maxX, maxY };
}

/** Reads the TopoJSON into projected land polygons and border lines. */
function parseWorld(topology: Topology): World {
  const countries = topology.objects.countries as GeometryCollection;
  const landObject = topology.objects.land as GeometryCollection;
  const land: Polygon[] = [];
  const collect = (g: GeoJSON.Geometry): void => {
    if (g.type === "Polygon") {
      land.push({ rings: g.coordinates.map(shape) });
    } else if (g.type === "MultiPolygon") {
      for (const p of g.coordinates) {
        land.push({ rings: p.map(shape) });
      }
    } else if (g.type === "GeometryCollection") {
      g.geometries.forEach(collect);
    }
  };
  const landFeatures = feature(topology, landObject);
  for (const f of landFeatures.features) {
    collect(f.geometry);
  }
  // Borders: the arcs two countries share (coastlines are the land's outline).
  const borders = mesh(topology, countries, (a, b) => a !== b).coordinates.map(shape);
  return { land, borders };
}

let worldPromise: Promise<World> | null = null;
/** The data's URL: the import is relative to the script (assets/), not to the page. */
const worldHref = new URL(worldURL, import.meta.url).href;

function loadWorld(): Promise<World> {
  worldPromise ??= fetch(worldHref)
    .then((r) => {
      if (!r.ok) {
        throw new Error(`basemap: GET ${worldHref}: ${r.status}`);
      }
      return r.json() as Promise<Topology>;
    })
    .then(parseWorld);
  return worldPromise;
}

/** What the basemap drew, for the test hook. */
export interface BasemapInfo {
  /** "loading" | "loaded" | "failed". */
  status: string;
  /** Land polygons in the data. */
  landPolygons: number;
  /** Tiles drawn, and of those, tiles with land in them. */
  tiles: number;
  landTiles: number;
}

export class WorldBasemap extends L.GridLayer {
  private world: World | null = null;
  private status = "loading";
  private tilesDrawn = 0;
  private landTiles = 0;
  /** The tiles on the map, by "z/x/y", to read a pixel back. */
  private readonly canvases = new Map<string, HTMLCanvasElement>();
  private colours = palette();

  constructor() {
    // Under the coordinate grid (zIndex 0) and the tiles.
    super({ tileSize: 256, zIndex: -1, updateWhenZooming: false, className: "world-basemap" });
    this.on("tileunload", (e: L.TileEvent) => {
      for (const [k, c] of this.canvases) {
        if (c === (e.tile as HTMLElement)) {
          this.canvases.delete(k);
        }
      }
    });
    loadWorld().then(
      (w) => {
        this.world = w;
        this.status = "loaded";
      },
      (err: unknown) => {
        this.status = "failed";
        console.warn(String(err));
      },
    );
  }

  info(): BasemapInfo {
    return { status: this.status, landPolygons: this.world?.land.length ?? 0, tiles: this.tilesDrawn, landTiles: this.landTiles };
  }

  /**
   * What the basemap shows at a place in the current view: "land", "sea",
   * or "" (no tile there yet), read back from the tile's pixel.
   */
  at(lat: number, lng: number): string {
    const map = this._map;
    if (!map) {
      return "";
    }
    const z = map.getZoom();
    const p = map.project([lat, lng], z);
    const n = 2 ** z;
    const tx = Math.floor(p.x / 256);
    const ty = Math.floor(p.y / 256);
    const canvas = this.canvases.get(`${z}/${((tx % n) + n) % n}/${ty}`);
    const ctx = canvas?.getContext("2d");
    // Only a tile Leaflet shows counts (it hides tiles until they are ready).
    if (canvas === undefined || !ctx || !canvas.classList.contains("leaflet-tile-loaded") || getComputedStyle(canvas).visibility === "hidden") {
      return "";
    }
    const ratio = canvas.width / 256;
    const [r, g, b] = ctx.getImageData(Math.floor((p.x - tx * 256) * ratio), Math.floor((p.y - ty * 256) * ratio), 1, 1).data;
    const hex = `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
    return hex === this.colours.land ? "land" : hex === this.colours.sea ? "sea" : hex;
  }

  protected override createTile(coords: L.Coords, done: L.DoneCallback): HTMLElement {
    const canvas = document.createElement("canvas");
    const ratio = window.devicePixelRatio || 1;
    canvas.width = 256 * ratio;
    canvas.height = 256 * ratio;
    const draw = (world: World): void => {
      this.drawTile(canvas, coords, world, ratio);
      this.canvases.set(`${coords.z}/${coords.x}/${coords.y}`, canvas);
      done(undefined, canvas);
    };
    if (this.world !== null) {
      // Leaflet takes done() only after createTile returned.
      const world = this.world;
      queueMicrotask(() => draw(world));
    } else {
      loadWorld().then(draw, (err: unknown) => done(err instanceof Error ? err : new Error(String(err)), canvas));
    }
    return canvas;
  }

  private drawTile(canvas: HTMLCanvasElement, coords: L.Coords, world: World, ratio: number): void {
    const ctx = canvas.getContext("2d");
    if (ctx === null) {
      return;
    }
    const colours = (this.colours = palette());
    const scale = 2 ** coords.z;
    // The tile in world pixels at zoom 0.
    const x0 = (coords.x * 256) / scale;
    const y0 = (coords.y * 256) / scale;
    const x1 = x0 + 256 / scale;
    const y1 = y0 + 256 / scale;
    const k = scale * ratio;
    ctx.fillStyle = colours.sea;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const inTile = (s: Shape): boolean => s.maxX >= x0 && s.minX <= x1 && s.maxY >= y0 && s.minY <= y1;
    const trace = (s: Shape, close: boolean): void => {
      const xy = s.xy;
      ctx.moveTo((xy[0] - x0) * k, (xy[1] - y0) * k);
      for (let i = 2; i < xy.length; i += 2) {
        ctx.lineTo((xy[i] - x0) * k, (xy[i + 1] - y0) * k);
      }
      if (close) {
        ctx.closePath();
      }
    };
    ctx.beginPath();
    let land = false;
    for (const p of world.land) {
      if (inTile(p.rings[0])) {
        land = true;
        for (const r of p.rings) {
          trace(r, true);
        }
      }
    }
    if (land) {
      ctx.fillStyle = colours.land;
      ctx.fill("evenodd");
      ctx.strokeStyle = colours.coast;
      ctx.lineWidth = ratio;
      ctx.stroke();
    }
    ctx.beginPath();
    for (const b of world.borders) {
      if (inTile(b)) {
        trace(b, false);
      }
    }
    ctx.strokeStyle = colours.border;
    ctx.lineWidth = ratio;
    ctx.setLineDash([4 * ratio, 3 * ratio]);
    ctx.stroke();
    this.tilesDrawn++;
    if (land) {
      this.landTiles++;
    }
  }
}
