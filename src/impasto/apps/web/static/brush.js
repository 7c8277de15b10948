// The brush: strokes over the photo, one colour per painting (the --mask colours, in the
// paintings' order) and an eraser that keeps the photo. The strokes become the colour map that
// `impasto --mask` reads: black where nothing is brushed or where it was erased, each pixel
// snapped to the nearest colour as the loader does; the page uploads it as a PNG and the
// server reads it with that same loader, so the page and the command line paint alike.
"use strict";

import { $, el, uploadFile } from "./util.js";

export const PALETTE = [
  ["red", [255, 0, 0]], ["green", [0, 255, 0]], ["blue", [0, 0, 255]],
  ["yellow", [255, 255, 0]], ["cyan", [0, 255, 255]], ["magenta", [255, 0, 255]],
];
const BLACK = [0, 0, 0]; // keeps the photo, as in a --mask colour map
const ORPHAN = [128, 128, 128]; // strokes of a painting that was removed: no map colour
const MAP_LONG = 1024; // long side of the map; --mask resizes a map of the photo's shape
export const ERASE = "erase";

export const ALL_ERASED = "the strokes keep the whole photo (only the eraser is left): brush a painting's colour where it should go, or clear the strokes to paint everything";
const REMOVED = "some strokes (grey) are for a painting that was removed: erase them, or clear the strokes";
const TOO_MANY = `a colour map has brush colours for ${PALETTE.length} paintings; remove a painting or clear the strokes`;

const rgb = (c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

export function colourOf(index) {
  return index < PALETTE.length ? PALETTE[index] : null;
}

export class Brush {
  // paintings(): the chosen paintings in order, [{key, name}]; onChange(): strokes changed.
  constructor(paintings, onChange) {
    this.paintings = paintings;
    this.onChange = onChange;
    this.canvas = $("brush-canvas");
    this.ctx = this.canvas.getContext("2d");
    this.ops = []; // strokes and clears, in order; undo takes the last one back
    this.undone = [];
    this.tool = null; // a painting's key, or ERASE
    this.version = 0; // changes with every stroke, undo, clear and painting added or removed
    this.uploaded = null; // {version, id}: the map as the server has it
    this.current = null;
    this.pointer = null;
    this.bind();
  }

  bind() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.down(e));
    c.addEventListener("pointermove", (e) => this.move(e));
    c.addEventListener("pointerup", (e) => this.up(e));
    c.addEventListener("pointercancel", (e) => this.up(e));
    $("brush-undo").addEventListener("click", () => this.undo());
    $("brush-redo").addEventListener("click", () => this.redo());
    $("brush-clear").addEventListener("click", () => this.clear());
    $("brush-download").addEventListener("click", () => this.download());
    const opacity = $("brush-opacity");
    opacity.addEventListener("input", () => { c.style.opacity = opacity.value; });
    c.style.opacity = opacity.value;
  }

  // A new photo: a new drawing layer of its shape (strokes over another photo mean nothing).
  setPhoto(picture) {
    const { width: w, height: h } = picture;
    const scale = Math.min(1, MAP_LONG / Math.max(w, h));
    let mw = Math.max(1, Math.round(w * scale));
    let mh = Math.max(1, Math.round(h * scale));
    if (Math.abs(mw / mh / (w / h) - 1) > 0.005) [mw, mh] = [w, h]; // a very long, thin photo
    this.canvas.width = mw;
    this.canvas.height = mh;
    $("brush-photo").src = picture.view;
    $("brush-stage").style.setProperty("--ratio", String(w / h));
    this.ops = [];
    this.undone = [];
    this.changed();
  }

  // ---------------------------------------------------------------- strokes

  live() {
    // The strokes that count: those after the last clear.
    const last = this.ops.map((op) => op.kind).lastIndexOf("clear");
    return this.ops.slice(last + 1);
  }

  hasStrokes() {
    return this.live().length > 0;
  }

  colour(op) {
    if (op.erase) return BLACK;
    const index = this.paintings().findIndex((p) => p.key === op.key);
    const entry = index >= 0 ? colourOf(index) : null;
    return entry ? entry[1] : ORPHAN;
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * this.canvas.width / r.width, (e.clientY - r.top) * this.canvas.height / r.height];
  }

  down(e) {
    if (this.pointer !== null || (e.pointerType === "mouse" && e.button !== 0) || !this.tool) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.pointer = e.pointerId;
    const long = Math.max(this.canvas.width, this.canvas.height);
    const width = Math.max(1, Number($("brush-size").value) / 100 * long);
    const erase = this.tool === ERASE;
    this.current = { kind: "stroke", key: erase ? null : this.tool, erase, width, points: [this.point(e)] };
    this.draw(this.current);
  }

  move(e) {
    if (e.pointerId !== this.pointer || !this.current) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const event of events.length ? events : [e]) this.current.points.push(this.point(event));
    this.draw(this.current, this.current.points.length - events.length - 2);
  }

  up(e) {
    if (e.pointerId !== this.pointer) return;
    this.pointer = null;
    if (!this.current) return;
    this.ops.push(this.current);
    this.current = null;
    this.undone = [];
    this.changed();
  }

  undo() {
    if (this.ops.length) this.undone.push(this.ops.pop());
    this.changed();
  }

  redo() {
    if (this.undone.length) this.ops.push(this.undone.pop());
    this.changed();
  }

  clear() {
    if (!this.hasStrokes()) return;
    this.ops.push({ kind: "clear" });
    this.undone = [];
    this.changed();
  }

  changed() {
    this.version += 1;
    this.render();
    $("brush-undo").disabled = !this.ops.length;
    $("brush-redo").disabled = !this.undone.length;
    $("brush-clear").disabled = !this.hasStrokes();
    this.onChange();
  }

  // ---------------------------------------------------------------- drawing

  render() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const op of this.live()) this.draw(op);
  }

  // Draw a stroke (from its point ``from`` on, while it is drawn). The eraser cuts the
  // strokes away, so the photo shows; on the map that is black.
  draw(op, from = 0) {
    const g = this.ctx;
    const points = op.points.slice(Math.max(0, from));
    g.save();
    g.globalCompositeOperation = op.erase ? "destination-out" : "source-over";
    g.strokeStyle = g.fillStyle = rgb(this.colour(op));
    g.lineWidth = op.width;
    g.lineCap = g.lineJoin = "round";
    if (points.length === 1) {
      g.beginPath();
      g.arc(points[0][0], points[0][1], op.width / 2, 0, 2 * Math.PI);
      g.fill();
    } else {
      g.beginPath();
      g.moveTo(...points[0]);
      for (const p of points.slice(1)) g.lineTo(...p);
      g.stroke();
    }
    g.restore();
  }

  // ---------------------------------------------------------------- the map

  // The colour map: the strokes over black, each pixel the nearest of black and the colours
  // in use (a tie goes to black, as in the loader); grey marks a removed painting's strokes.
  map() {
    const { width, height } = this.canvas;
    const out = el("canvas");
    out.width = width;
    out.height = height;
    const g = out.getContext("2d", { willReadFrequently: true });
    g.fillStyle = "#000";
    g.fillRect(0, 0, width, height);
    g.drawImage(this.canvas, 0, 0);
    const image = g.getImageData(0, 0, width, height);
    const used = Math.min(this.paintings().length, PALETTE.length);
    const colours = [BLACK, ...PALETTE.slice(0, used).map((p) => p[1]), ORPHAN];
    const counts = new Array(colours.length).fill(0);
    const d = image.data;
    for (let i = 0; i < d.length; i += 4) {
      let best = 0;
      let distance = Infinity;
      for (let k = 0; k < colours.length; k += 1) {
        const c = colours[k];
        const dd = (d[i] - c[0]) ** 2 + (d[i + 1] - c[1]) ** 2 + (d[i + 2] - c[2]) ** 2;
        if (dd < distance) { distance = dd; best = k; }
      }
      const c = colours[best];
      d[i] = c[0]; d[i + 1] = c[1]; d[i + 2] = c[2]; d[i + 3] = 255;
      counts[best] += 1;
    }
    g.putImageData(image, 0, 0);
    return { canvas: out, painted: counts.slice(1, -1), orphans: counts[counts.length - 1] };
  }

  // Why these strokes cannot be painted, in one line; null when they can (or there are none).
  problem() {
    if (!this.hasStrokes()) return null;
    if (this.paintings().length > PALETTE.length) return TOO_MANY;
    const { painted, orphans } = this.map();
    if (orphans) return REMOVED;
    if (!painted.some((n) => n > 0)) return ALL_ERASED;
    return null;
  }

  async blob() {
    const { canvas } = this.map();
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }

  // The map's picture id on the server (uploaded once per version), or null: no strokes,
  // the whole picture is painted. Throws with the page's line for strokes that cannot be.
  async maskId() {
    if (!this.hasStrokes()) return null;
    const problem = this.problem();
    if (problem) throw new Error(problem);
    if (this.uploaded && this.uploaded.version === this.version) return this.uploaded.id;
    const version = this.version;
    const picture = await uploadFile(await this.blob(), "strokes.png");
    this.uploaded = { version, id: picture.id };
    return picture.id;
  }

  // The map as a PNG file, for `impasto --mask`.
  async download() {
    const problem = this.hasStrokes() ? this.problem() : "no strokes yet: with none, the whole picture is painted";
    if (problem) { this.note(problem, true); return; }
    const url = URL.createObjectURL(await this.blob());
    const link = el("a", { href: url, download: "strokes.png" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---------------------------------------------------------------- tools

  // The colour buttons, one a painting, and the eraser; the tool stays on its painting.
  tools() {
    const paintings = this.paintings();
    const keys = paintings.map((p) => p.key);
    if (this.tool !== ERASE && !keys.slice(0, PALETTE.length).includes(this.tool)) this.tool = keys[0] ?? null;
    const buttons = paintings.slice(0, PALETTE.length).map((p, i) => {
      const [name, colour] = PALETTE[i];
      return this.toolButton(p.key, `${i + 1}`, `brush ${name}: ${p.name}`, rgb(colour));
    });
    buttons.push(this.toolButton(ERASE, "eraser", "eraser: keep the photo here", ""));
    $("brush-tools").replaceChildren(...buttons);
    this.choose(this.tool);
    this.render(); // a painting's colour follows its place in the list
    this.version += 1;
    this.onChange();
  }

  toolButton(key, label, title, colour) {
    const button = el("button", { type: "button", class: `tool${key === ERASE ? " eraser" : ""}`, title, "aria-label": title, "data-tool": label });
    if (colour) button.append(el("span", { class: "swatch", style: `background: ${colour}` }));
    button.append(label);
    button.toolKey = key;
    button.addEventListener("click", () => this.choose(key));
    return button;
  }

  choose(key) {
    this.tool = key;
    for (const b of $("brush-tools").children) b.setAttribute("aria-pressed", String(b.toolKey === key));
  }

  // The line under the drawing: what the strokes do, or why they cannot be painted.
  note(text, bad = false) {
    $("brush-note").textContent = text;
    $("brush-note").classList.toggle("error", bad);
  }

  explain() {
    const problem = this.problem();
    if (problem) this.note(problem, true);
    else if (this.hasStrokes()) this.note("Each colour is painted as its painting; the rest (and what is erased) keeps the photo.");
    else this.note("No strokes: the whole picture is painted. Brush a painting's colour to paint only there.");
  }
}
