// impasto's page: pick pictures, set the painting up, watch it improve, keep the results.
// Plain JavaScript modules, no build step, nothing loaded from elsewhere. The brush is in
// brush.js, before and after and touch-ups in compare.js.
"use strict";

import { $, api, clock, el, postJSON, say, shown, uploadFile } from "./util.js";
import { Brush, colourOf } from "./brush.js";
import { Compare } from "./compare.js";
import { renderQueue, renderResults } from "./results.js";

const LABELS = {
  size: "Size (px)",
  strength: "Strength",
  preserve_color: "Keep colours",
  preset: "Quality",
  style_scale: "Style scale",
  style_representation: "Style statistics",
};
const SLIDERS = { strength: [0, 2, 0.05], style_scale: [0.25, 3, 0.05] };

const page = {
  fields: [],
  content: null, // picture
  styles: [], // [{picture, blend, key}]; key: the brush's name for the painting
  paintings: new Map(), // id -> painting, in the order asked for
  queue: [],
  current: null,
};

// ------------------------------------------------------------------ settings controls

function control(field) {
  const label = el("label", { class: "control", title: field.help });
  label.append(el("span", {}, LABELS[field.name] || field.name.replaceAll("_", " ")));
  let input;
  if (field.kind === "bool") {
    input = el("input", { type: "checkbox" });
    input.checked = Boolean(field.default);
  } else if (field.choices) {
    input = el("select");
    if (field.optional) input.append(el("option", { value: "" }, "default"));
    for (const choice of field.choices) input.append(el("option", { value: choice }, choice));
    input.value = shown(field.default);
  } else if (field.kind === "int" || field.kind === "float") {
    input = el("input", { type: "number", step: field.kind === "int" ? "1" : "any" });
    input.value = shown(field.default);
  } else {
    input = el("input", { type: "text", placeholder: field.optional ? "default" : "" });
    input.value = shown(field.default);
  }
  input.dataset.field = field.name;
  input.id = `field-${field.name}`;
  const row = el("span", { class: "inputs" }, input);
  if (SLIDERS[field.name]) {
    const [min, max, step] = SLIDERS[field.name];
    const slider = el("input", { type: "range", min, max, step, "aria-label": field.name });
    slider.value = input.value;
    slider.addEventListener("input", () => { input.value = slider.value; changed(); });
    input.addEventListener("input", () => { slider.value = input.value; });
    row.prepend(slider);
  }
  input.addEventListener("change", changed);
  if (field.name === "iterations") input.addEventListener("input", syncPreset);
  label.append(row);
  return label;
}

function buildControls() {
  const main = $("main-controls");
  const quality = main.lastElementChild; // the hand-made preset, used when the config has none
  const order = ["size", "strength", "preserve_color", "style_scale", "style_representation", "preset"];
  for (const name of order) {
    const field = page.fields.find((f) => f.name === name);
    if (field) main.insertBefore(control(field), quality);
  }
  for (const field of page.fields) {
    if (!field.main && field.name !== "style_blend") $("more-controls").append(control(field));
  }
  if (page.fields.some((f) => f.name === "preset")) {
    quality.remove(); // StyleConfig has its own speed/quality preset: that one is shown
    return;
  }
  $("preset").addEventListener("change", () => {
    const iterations = $("field-iterations");
    if ($("preset").value && iterations) iterations.value = $("preset").value;
    changed();
  });
}

function buildInits(inits) {
  const names = {
    palette: "the photo, in the paintings' palette",
    content: "the photo",
    noise: "noise",
    recolor: "the photo, recoloured",
  };
  $("init").replaceChildren(...inits.map((i) => el("option", { value: i }, names[i] || i)));
}

function syncPreset() {
  const value = $("field-iterations").value;
  const preset = $("preset");
  if (!preset) return;
  preset.value = [...preset.options].some((o) => o.value === value) ? value : "";
}

function settingsNow() {
  const values = {};
  for (const input of document.querySelectorAll("[data-field]")) {
    const field = page.fields.find((f) => f.name === input.dataset.field);
    const value = input.type === "checkbox" ? input.checked : input.value.trim();
    if (input.type === "checkbox" ? value !== field.default : value !== shown(field.default)) {
      values[field.name] = value;
    }
  }
  return values;
}

function request() {
  return {
    content: page.content && page.content.id,
    styles: page.styles.map((s) => s.picture.id),
    blend: page.styles.length > 1 ? page.styles.map((s) => Number(s.blend)) : null,
    init: $("init").value,
    settings: settingsNow(),
  };
}

// ------------------------------------------------------------------ pictures

async function upload(file) {
  try {
    return await uploadFile(file);
  } catch (error) {
    say(error.message);
    return null;
  }
}

function thumb(picture) {
  return el("img", { src: picture.thumbnail, alt: picture.name, title: `${picture.name}, ${picture.width}×${picture.height}` });
}

function setContent(picture) {
  page.content = picture;
  const box = $("content-thumb");
  box.replaceChildren(thumb(picture), el("span", { class: "small" }, `${picture.name} · ${picture.width}×${picture.height}`));
  $("content-drop").classList.add("filled");
  brush.setPhoto(picture);
  changed();
}

let keys = 0;
function addStyle(picture) {
  page.styles.push({ picture, blend: 1, key: `painting-${(keys += 1)}` });
  renderStyles();
  changed();
}

function renderStyles() {
  const list = $("style-list");
  list.replaceChildren();
  page.styles.forEach((style, index) => {
    const item = el("li", { class: "style" }, thumb(style.picture));
    const colour = colourOf(index);
    if (colour) { // its brush colour, beside its thumbnail: a click takes that brush
      const [name, [r, g, b]] = colour;
      item.append(el("button", { type: "button", class: "swatch", title: `brush colour: ${name}`, "aria-label": `brush ${name} for ${style.picture.name}`, style: `background: rgb(${r}, ${g}, ${b})`, onclick: () => brush.choose(style.key) }));
    }
    const info = el("span", { class: "style-info" }, el("span", { class: "small" }, style.picture.name));
    if (page.styles.length > 1) {
      const slider = el("input", { type: "range", min: 0, max: 1, step: 0.05, class: "blend", "aria-label": `blend of ${style.picture.name}` });
      slider.value = style.blend;
      slider.addEventListener("input", () => { style.blend = slider.value; });
      slider.addEventListener("change", changed);
      info.append(el("span", { class: "small" }, "blend"), slider);
    }
    const remove = el("button", { type: "button", class: "link", title: "remove", onclick: () => { page.styles.splice(index, 1); renderStyles(); changed(); } }, "×");
    item.append(info, remove);
    list.append(item);
  });
}

function dropZone(zone, input, onFiles) {
  input.addEventListener("change", () => { onFiles([...input.files]); input.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    onFiles([...e.dataTransfer.files]);
  });
}

async function loadExamples() {
  const { examples } = await api("/api/examples");
  if (!examples.length) { $("examples-card").hidden = true; return; }
  for (const example of examples) {
    const use = async (role) => {
      try {
        const picture = await api(`/api/examples/${encodeURIComponent(example.name)}`, { method: "POST" });
        role === "content" ? setContent(picture) : addStyle(picture);
      } catch (error) { say(error.message); }
    };
    $("examples").append(el("li", { class: "example" },
      el("img", { src: example.thumbnail, alt: example.name, loading: "lazy" }),
      el("span", { class: "small" }, example.name),
      el("span", {},
        el("button", { type: "button", class: "link", onclick: () => use("content") }, "photo"),
        " · ",
        el("button", { type: "button", class: "link", onclick: () => use("style") }, "painting"))));
  }
}

// ------------------------------------------------------------------ estimate and start

let estimateTimer = null;
let brushKeys = "";
function changed() {
  const ready = page.content && page.styles.length;
  $("start").disabled = !ready;
  $("brush-card").hidden = !ready;
  if (brushKeys !== page.styles.map((s) => s.key).join()) {
    brushKeys = page.styles.map((s) => s.key).join();
    brush.tools(); // colours follow the paintings' order
  }
  clearTimeout(estimateTimer);
  if (ready) estimateTimer = setTimeout(estimate, 250);
}

// The estimate clears only the message it showed itself: a background estimate that returns
// late must not erase an error the user has not read yet (a bad upload, say).
let estimateSaid = "";

async function estimate() {
  try {
    const e = await postJSON("/api/estimate", request());
    $("estimate").textContent = `Output ${e.width}×${e.height} px in ${e.scales.length} scale${e.scales.length > 1 ? "s" : ""} (${e.scales.join(", ")} px). ` +
      `About ${e.time} on this computer; peak memory about ${e.memory_gb.toFixed(1)} GB of ${e.budget_gb.toFixed(1)} GB.`;
    if (estimateSaid && $("message").textContent === estimateSaid) say("");
    estimateSaid = "";
  } catch (error) {
    $("estimate").textContent = "";
    estimateSaid = error.message;
    say(error.message);
  }
}

async function start() {
  say("");
  try {
    await postJSON("/api/paintings", { ...request(), mask: await brush.maskId() });
  } catch (error) { say(error.message); }
}

// A touch-up keeps its picture's photo and paintings: its strokes are the ones over them.
let awaited = null; // the touch-up to show once it is done
async function touchUp(painting) {
  say("");
  const same = painting.inputs.content === (page.content && page.content.id) &&
    painting.inputs.styles.join() === page.styles.map((s) => s.picture.id).join();
  if (!same) {
    say("a touch-up keeps its picture's photo and paintings: choose those again, or press Paint for a new picture");
    return;
  }
  const values = settingsNow();
  const settings = {};
  for (const name of ["strength", "preserve_color"]) settings[name] = values[name] ?? page.fields.find((f) => f.name === name).default;
  try {
    const queued = await postJSON(`/api/paintings/${painting.id}/touch-up`, { settings, mask: await brush.maskId() });
    awaited = queued.id;
  } catch (error) { say(error.message); }
}

async function cancel(id) {
  try { await api(`/api/paintings/${id}/cancel`, { method: "POST" }); } catch (error) { say(error.message); }
}

// ------------------------------------------------------------------ what the server says

function renderNow() {
  const painting = page.current && page.paintings.get(page.current);
  $("cancel").hidden = !painting;
  $("now").dataset.id = painting ? painting.id : "";
  if (!painting) {
    $("now-title").textContent = "";
    $("status").textContent = page.paintings.size ? "Idle." : "";
    return;
  }
  $("now-title").textContent = painting.title;
  const p = painting.progress;
  if (!p) {
    $("status").textContent = "Loading the network…";
    setBar(0);
    return;
  }
  if (p.preview && $("live").dataset.src !== p.preview) {
    $("live").dataset.src = p.preview;
    $("live").dataset.painting = painting.id;
    $("live").src = p.preview;
    $("live").hidden = false;
    $("idle").hidden = true;
  }
  setBar(p.fraction);
  const cost = p.losses && typeof p.losses.total === "number" ? ` · cost ${p.losses.total.toPrecision(3)}` : "";
  $("status").textContent = `Scale ${p.scale} of ${p.scales} (${p.width}×${p.height} px), step ${p.step} of ${p.steps} · ` +
    `elapsed ${clock(p.elapsed)} · about ${clock(p.seconds_left)} left${cost}`;
}

function setBar(fraction) {
  const percent = Math.round(fraction * 1000) / 10;
  $("bar-fill").style.width = `${percent}%`;
  $("bar").setAttribute("aria-valuenow", percent);
  $("bar").dataset.fraction = fraction;
}

function select(painting) {
  compare.show(painting, painting.touch_up_of && page.paintings.get(painting.touch_up_of));
  $("compare").scrollIntoView({ block: "nearest" });
}

function useAsStart(painting) {
  const value = `result:${painting.id}`;
  const init = $("init");
  if (![...init.options].some((o) => o.value === value)) {
    init.append(el("option", { value }, `result: ${painting.title}`));
  }
  init.value = value;
  changed();
}

function onEvent(event) {
  if (event.type === "state") {
    page.paintings = new Map(event.paintings.map((p) => [p.id, p]));
    page.queue = event.queue;
    page.current = event.current;
  } else if (event.type === "progress") {
    const painting = page.paintings.get(event.painting);
    if (painting) painting.progress = event.progress;
    renderNow();
    return;
  } else {
    page.paintings.set(event.painting.id, event.painting);
    page.queue = event.queue;
    if (event.type === "started") page.current = event.painting.id;
    else if (event.painting.id === page.current && event.type !== "queued") page.current = null;
    if (event.type === "failed") say(`${event.painting.title}: ${event.painting.error}`);
    if (event.painting.id === awaited && event.painting.result && event.type !== "queued") select(event.painting);
  }
  renderNow();
  renderQueue(page, cancel);
  renderResults(page, select, useAsStart);
}

const brush = new Brush(() => page.styles.map((s) => ({ key: s.key, name: s.picture.name })), () => brush.explain());
const compare = new Compare((id) => `/api/pictures/${id}/view.jpg`, touchUp);

// Where every painting here runs: the server's device (impasto serve --device), not a setting.
function showDevice(device) {
  if (!device) return;
  $("device").textContent = `Painting on ${device.text}`;
  $("device").hidden = false;
}

async function main() {
  const { fields, inits, device } = await api("/api/fields");
  page.fields = fields;
  showDevice(device);
  buildControls();
  buildInits(inits);
  dropZone($("content-drop"), $("content-input"), async (files) => {
    const picture = files.length ? await upload(files[0]) : null;
    if (picture) setContent(picture);
  });
  dropZone($("style-drop"), $("style-input"), async (files) => {
    for (const file of files) {
      const picture = await upload(file);
      if (picture) addStyle(picture);
    }
  });
  $("start").addEventListener("click", start);
  $("cancel").addEventListener("click", () => page.current && cancel(page.current));
  renderQueue(page, cancel);
  const events = new EventSource("/api/events");
  events.onmessage = (message) => onEvent(JSON.parse(message.data));
  loadExamples().catch((error) => say(error.message));
  document.body.dataset.ready = "yes";
}

main().catch((error) => say(error.message));
