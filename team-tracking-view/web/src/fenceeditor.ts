// The fence editor: the team's geofences on the map (under the markers, in
// their own pane) and listed in the side panel; drawing a circle or a
// polygon, editing one (move it, reshape it, rename it, change its dwell)
// and deleting one, each saved through the geofences API (fences.ts).
//
// Drawing and the shape's handles are Leaflet-Geoman's
// (@geoman-io/leaflet-geoman-free): "Draw circle" (click the centre, then
// the edge) and "Draw polygon" (click each corner, then the first one again,
// or Enter). A new shape, or a fence picked in the list or on the map, opens
// the form with its name and dwell; the shape on the map is editable while
// the form is open (drag it to move it, its handles to reshape it). Save
// sends it (POST for a new fence, PUT for a changed one); the server's
// answer is what is drawn. A refusal (400) is shown in the form, the field
// it names marked. Delete asks once more before it sends DELETE. Escape
// leaves drawing or editing, as Cancel does.

import * as L from "leaflet";
import "@geoman-io/leaflet-geoman-free";
import { ApiError } from "./api";
import type { StreamCredentials } from "./auth";
import { describeSchedule, describeShape, FenceAPI, geometryOfLayer, layerOf, type Fence, type FenceBody } from "./fences";
import { escapeHTML, FENCE_PANE } from "./map";

export interface FenceEditorElements {
  drawCircle: HTMLButtonElement;
  drawPolygon: HTMLButtonElement;
  /** What to do next while drawing; what happened after a change. */
  hint: HTMLElement;
  form: HTMLFormElement;
  formTitle: HTMLElement;
  name: HTMLInputElement;
  dwell: HTMLInputElement;
  shape: HTMLElement;
  schedule: HTMLElement;
  save: HTMLButtonElement;
  cancel: HTMLButtonElement;
  remove: HTMLButtonElement;
  /** The server's refusal, or why a request failed. */
  error: HTMLElement;
  list: HTMLOListElement;
  empty: HTMLElement;
}

export type EditorMode = "idle" | "drawing" | "new" | "edit";

/** What the test hook tells of the fences and the editor. */
export interface FenceHookInfo {
  mode: EditorMode;
  /** The shape being drawn: "Circle" or "Polygon"; "" otherwise. */
  drawing: string;
  /** The fence in the form ("" for a new one or none). */
  selected: string;
  busy: boolean;
  /** The form's error, and the field the server named. */
  error: string;
  field: string;
  hint: string;
  /** The fences shown, by id. */
  fences: {
    id: string;
    name: string;
    type: string;
    dwell: string;
    /** The circle's centre, or every corner of the polygon's outer ring (of the editable layer while in the form). */
    points: { lat: number; lng: number }[];
    radius: number;
  }[];
}

const STYLE: L.PathOptions = { color: "#2563eb", weight: 2, opacity: 0.9, fillColor: "#2563eb", fillOpacity: 0.08 };
const EDIT_STYLE: L.PathOptions = { color: "#7c3aed", weight: 3, opacity: 1, fillColor: "#7c3aed", fillOpacity: 0.15, dashArray: "6 4" };
/** How long Delete waits for its confirmation. */
const CONFIRM_MS = 5_000;

type Shape = "Circle" | "Polygon";

interface Shown {
  fence: Fence;
  layer: L.Circle | L.Polygon;
  li: HTMLLIElement;
}

export class FenceEditor {
  private readonly shown = new Map<string, Shown>();
  private readonly layers: L.LayerGroup;
  private readonly renderer: L.Renderer;
  private api: FenceAPI | null = null;
  /** False once the service said it keeps no geofences (501): nothing can be drawn. */
  private available = true;
  /** Bumped by setTarget: an answer for an older team is dropped. */
  private generation = 0;
  private mode: EditorMode = "idle";
  private drawing: Shape | null = null;
  /** The shape in the form: a new one, or the editable copy of a fence. */
  private editLayer: L.Circle | L.Polygon | null = null;
  /** The fence in the form; null for a new one. */
  private selected: Fence | null = null;
  private busy = false;
  private field = "";
  private confirmTimer: number | undefined;
  private loading: AbortController | null = null;

  constructor(
    private readonly map: L.Map,
    private readonly el: FenceEditorElements,
  ) {
    // Fences are drawn with SVG, in their own pane under the markers: their
    // handles drag the paths themselves, and the marker canvas lets the
    // pointer through to them.
    this.renderer = L.svg({ pane: FENCE_PANE, padding: 0.5 });
    this.layers = L.layerGroup([], { pane: FENCE_PANE }).addTo(map);
    map.pm.setGlobalOptions({ snappable: false, allowSelfIntersection: false, panes: { vertexPane: "markerPane", layerPane: FENCE_PANE, markerPane: "markerPane" } });
    map.on("pm:create", (e) => this.onCreate(e.layer));
    el.drawCircle.addEventListener("click", () => this.draw("Circle"));
    el.drawPolygon.addEventListener("click", () => this.draw("Polygon"));
    el.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.save();
    });
    el.cancel.addEventListener("click", () => this.closeForm("Changes discarded"));
    el.remove.addEventListener("click", () => void this.remove());
    for (const input of [el.name, el.dwell]) {
      input.addEventListener("input", () => {
        input.removeAttribute("aria-invalid");
        input.setCustomValidity("");
      });
    }
    const select = (ev: Event): void => {
      const li = (ev.target as Element).closest<HTMLElement>("li[data-fence-id]");
      const s = li?.dataset.fenceId === undefined ? undefined : this.shown.get(li.dataset.fenceId);
      if (s !== undefined) {
        ev.preventDefault();
        this.edit(s.fence.id, true);
      }
    };
    el.list.addEventListener("click", select);
    el.list.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        select(ev);
      }
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape") {
        return;
      }
      if (this.mode === "drawing") {
        this.stopDrawing("Drawing cancelled");
      } else if ((this.mode === "new" || this.mode === "edit") && !this.busy) {
        this.closeForm("Changes discarded");
      }
    });
    this.render();
  }

  /**
   * Shows the fences of another team (null: none until its credentials are
   * known): what was drawn or edited is dropped, and its fences are read.
   */
  setTarget(target: { base: string; credentials: StreamCredentials } | null): void {
    this.generation++;
    this.loading?.abort();
    this.loading = null;
    this.stopDrawing("");
    this.closeForm("");
    for (const s of this.shown.values()) {
      s.layer.remove();
    }
    this.shown.clear();
    this.el.list.replaceChildren();
    this.api = target === null ? null : new FenceAPI(target.base, target.credentials);
    this.available = true;
    this.setHint("");
    this.render();
    if (this.api !== null) {
      void this.load(this.api);
    }
  }

  /** The fences and the editor, for the test hook. */
  hookInfo(): FenceHookInfo {
    const fences = [...this.shown.values()].map(({ fence, layer }) => {
      const l = fence.id === this.selected?.id && this.editLayer !== null ? this.editLayer : layer;
      return { id: fence.id, name: fence.name, type: fence.geometry.type, dwell: fence.dwell, ...shapePoints(l) };
    });
    return {
      mode: this.mode,
      drawing: this.drawing ?? "",
      selected: this.selected?.id ?? "",
      busy: this.busy,
      error: this.el.error.textContent ?? "",
      field: this.field,
      hint: this.el.hint.textContent ?? "",
      fences: fences.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    };
  }

  /** The shape in the form (new or edited), for the test hook: where its handles are. */
  editShape(): { points: { lat: number; lng: number }[]; radius: number } | null {
    return this.editLayer === null ? null : shapePoints(this.editLayer);
  }

  private async load(api: FenceAPI): Promise<void> {
    const generation = this.generation;
    const ctl = new AbortController();
    this.loading = ctl;
    try {
      const fences = await api.list(ctl.signal);
      if (generation !== this.generation) {
        return;
      }
      for (const f of fences) {
        this.put(f);
      }
      this.setHint("");
    } catch (err) {
      if (generation === this.generation && !ctl.signal.aborted) {
        this.available = !(err instanceof ApiError && err.status === 501);
        this.setHint(err instanceof Error ? err.message : String(err));
      }
    } finally {
      if (this.loading === ctl) {
        this.loading = null;
      }
    }
    this.render();
  }

  /** Starts drawing a new fence (leaving a form open without saving). */
  private draw(shape: Shape): void {
    if (this.api === null || !this.available || this.busy) {
      return;
    }
    this.closeForm("");
    this.stopDrawing("");
    this.mode = "drawing";
    this.drawing = shape;
    this.map.pm.enableDraw(shape, {
      snappable: false,
      finishOnEnter: true,
      allowSelfIntersection: false,
      templineStyle: { color: EDIT_STYLE.color },
      hintlineStyle: { color: EDIT_STYLE.color, dashArray: "5 5" },
      pathOptions: { ...EDIT_STYLE, renderer: this.renderer, pane: FENCE_PANE },
    });
    this.setHint(
      shape === "Circle"
        ? "Click the centre of the circle on the map, then its edge (Esc cancels)."
        : "Click each corner on the map, then the first one again or press Enter (Esc cancels).",
    );
    this.render();
  }

  private stopDrawing(hint: string): void {
    if (this.mode !== "drawing") {
      return;
    }
    this.map.pm.disableDraw();
    this.mode = "idle";
    this.drawing = null;
    this.setHint(hint);
    this.render();
  }

  /** A shape was drawn: it becomes the new fence's, editable, and the form opens. */
  private onCreate(drawn: L.Layer): void {
    drawn.remove(); // redrawn below as the editor's own layer
    const geometry = geometryOfLayer(drawn);
    this.map.pm.disableDraw();
    this.drawing = null;
    this.mode = "idle";
    if (geometry === null) {
      return;
    }
    this.openForm(null, layerOf(geometry, { ...EDIT_STYLE, renderer: this.renderer, pane: FENCE_PANE }));
  }

  /** Opens the form on a fence, its shape editable; fit: zoom the map to it. */
  private edit(id: string, fit: boolean): void {
    const s = this.shown.get(id);
    if (s === undefined || this.busy || (this.mode === "edit" && this.selected?.id === id)) {
      return;
    }
    this.stopDrawing("");
    this.closeForm("");
    s.layer.remove(); // the editable copy stands in for it while the form is open
    const layer = layerOf(s.fence.geometry, { ...EDIT_STYLE, renderer: this.renderer, pane: FENCE_PANE });
    this.openForm(s.fence, layer);
    if (fit) {
      const b = layer.getBounds();
      this.map.fitBounds(b, { padding: [60, 60], maxZoom: 18 });
    }
  }

  private openForm(fence: Fence | null, layer: L.Circle | L.Polygon): void {
    this.selected = fence;
    this.mode = fence === null ? "new" : "edit";
    this.editLayer = layer;
    layer.addTo(this.map);
    layer.pm.enable({ draggable: true, snappable: false, allowSelfIntersection: false });
    layer.on("pm:edit pm:dragend", () => this.showShape());
    this.el.name.value = fence?.name ?? "";
    this.el.dwell.value = fence?.dwell ?? "";
    this.el.formTitle.textContent = fence === null ? "New fence" : `Fence ${fence.name}`;
    const schedule = describeSchedule(fence?.schedule ?? null);
    this.el.schedule.textContent = schedule === "" ? "" : `Active ${schedule} (kept as it is)`;
    this.el.schedule.hidden = schedule === "";
    this.el.remove.hidden = fence === null;
    this.resetDelete();
    this.setError("", "");
    this.showShape();
    this.setHint(fence === null ? "Name the new fence and save it." : "Drag the shape or its handles to change it; rename it; then save.");
    this.el.form.hidden = false;
    this.render();
    this.el.name.focus();
  }

  /** Closes the form; the fence it showed is drawn as stored. */
  private closeForm(hint: string): void {
    if (this.mode !== "new" && this.mode !== "edit") {
      return;
    }
    if (this.editLayer !== null) {
      this.editLayer.pm.disable();
      this.editLayer.remove();
      this.editLayer = null;
    }
    const s = this.selected === null ? undefined : this.shown.get(this.selected.id);
    s?.layer.addTo(this.layers);
    this.selected = null;
    this.mode = "idle";
    this.el.form.hidden = true;
    this.resetDelete();
    this.setError("", "");
    this.setHint(hint);
    this.render();
  }

  private showShape(): void {
    const g = this.editLayer === null ? null : geometryOfLayer(this.editLayer);
    this.el.shape.textContent = g === null ? "" : describeShape(g);
  }

  /** Sends the form: POST a new fence, PUT a changed one. */
  private async save(): Promise<void> {
    const api = this.api;
    const layer = this.editLayer;
    if (api === null || layer === null || this.busy) {
      return;
    }
    const geometry = geometryOfLayer(layer);
    if (geometry === null) {
      return;
    }
    const body: FenceBody = { name: this.el.name.value.trim(), geometry };
    const dwell = this.el.dwell.value.trim();
    if (dwell !== "") {
      body.dwell = dwell;
    }
    const selected = this.selected;
    if (selected?.schedule) {
      body.schedule = selected.schedule;
    }
    const generation = this.generation;
    this.setBusy(true);
    try {
      const fence = selected === null ? await api.create(body) : await api.put(selected.id, body);
      if (generation !== this.generation) {
        return;
      }
      this.setBusy(false);
      this.put(fence);
      this.closeForm(`Saved ${fence.name}`);
    } catch (err) {
      if (generation !== this.generation) {
        return;
      }
      this.setBusy(false);
      const e = err instanceof ApiError ? err : null;
      this.setError(e?.message ?? String(err), e?.field ?? "");
    }
  }

  /** Delete asks once more (the button says so); the second click sends DELETE. */
  private async remove(): Promise<void> {
    const api = this.api;
    const fence = this.selected;
    if (api === null || fence === null || this.busy) {
      return;
    }
    if (this.el.remove.dataset.confirm !== "1") {
      this.el.remove.dataset.confirm = "1";
      this.el.remove.textContent = `Really delete ${fence.name}?`;
      this.confirmTimer = window.setTimeout(() => this.resetDelete(), CONFIRM_MS);
      return;
    }
    this.resetDelete();
    const generation = this.generation;
    this.setBusy(true);
    try {
      await api.delete(fence.id);
      if (generation !== this.generation) {
        return;
      }
      this.setBusy(false);
      const s = this.shown.get(fence.id);
      s?.layer.remove();
      s?.li.remove();
      this.shown.delete(fence.id);
      this.selected = null; // nothing to draw back
      this.closeForm(`Deleted ${fence.name}`);
    } catch (err) {
      if (generation === this.generation) {
        this.setBusy(false);
        this.setError(err instanceof Error ? err.message : String(err), "");
      }
    }
  }

  private resetDelete(): void {
    window.clearTimeout(this.confirmTimer);
    delete this.el.remove.dataset.confirm;
    this.el.remove.textContent = "Delete";
  }

  /** Shows a fence (as the server has it), replacing the one with its id. */
  private put(f: Fence): void {
    const old = this.shown.get(f.id);
    old?.layer.remove();
    const layer = layerOf(f.geometry, { ...STYLE, renderer: this.renderer, pane: FENCE_PANE });
    layer.bindTooltip(escapeHTML(f.name), { sticky: true, direction: "top" });
    layer.on("click", () => {
      if (this.mode !== "drawing") {
        this.edit(f.id, false); // while drawing, the click is a corner of the new shape
      }
    });
    layer.addTo(this.layers);
    const li = old?.li ?? document.createElement("li");
    li.className = "fence";
    li.dataset.fenceId = f.id;
    li.tabIndex = 0;
    li.title = `Edit ${f.name} (or click it on the map)`;
    const span = (className: string, textContent: string): HTMLSpanElement =>
      Object.assign(document.createElement("span"), { className, textContent });
    const details = [describeShape(f.geometry), f.dwell !== "" ? `dwell ${f.dwell}` : "", f.schedule !== null ? "scheduled" : ""];
    li.replaceChildren(span("fence-name", f.name), span("fence-details", details.filter(Boolean).join(" · ")));
    this.shown.set(f.id, { fence: f, layer, li });
    // By name, then id.
    const sorted = [...this.shown.values()].sort((a, b) => a.fence.name.localeCompare(b.fence.name) || (a.fence.id < b.fence.id ? -1 : 1));
    this.el.list.replaceChildren(...sorted.map((s) => s.li));
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.render();
  }

  private setError(text: string, field: string): void {
    this.field = field;
    this.el.error.textContent = text;
    this.el.error.hidden = text === "";
    const top = field.split(/[.[]/)[0];
    for (const [name, input] of [["name", this.el.name], ["dwell", this.el.dwell]] as const) {
      if (top === name) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      } else {
        input.removeAttribute("aria-invalid");
      }
    }
    this.el.shape.toggleAttribute("data-invalid", top === "geometry");
  }

  private setHint(text: string): void {
    this.el.hint.textContent = text;
  }

  private render(): void {
    const off = this.api === null || !this.available || this.busy;
    this.el.drawCircle.disabled = off;
    this.el.drawPolygon.disabled = off;
    this.el.drawCircle.setAttribute("aria-pressed", String(this.drawing === "Circle"));
    this.el.drawPolygon.setAttribute("aria-pressed", String(this.drawing === "Polygon"));
    this.el.save.disabled = this.busy;
    this.el.cancel.disabled = this.busy;
    this.el.remove.disabled = this.busy;
    this.el.empty.hidden = this.shown.size > 0;
    document.body.dataset.fenceMode = this.mode;
  }
}

/** A layer's points for the test hook: a circle's centre and radius, or a polygon's outer ring. */
function shapePoints(layer: L.Circle | L.Polygon): { points: { lat: number; lng: number }[]; radius: number } {
  if (layer instanceof L.Circle) {
    const c = layer.getLatLng();
    return { points: [{ lat: c.lat, lng: c.lng }], radius: layer.getRadius() };
  }
  let ring: unknown = layer.getLatLngs();
  // Polygon: [ring, hole...]; MultiPolygon: [[ring, hole...], ...]: the first outer ring.
  while (Array.isArray(ring) && Array.isArray(ring[0])) {
    ring = ring[0];
  }
  const points = (ring as L.LatLng[]).map((p) => ({ lat: p.lat, lng: p.lng }));
  return { points, radius: 0 };
}
