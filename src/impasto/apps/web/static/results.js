// The queue and the finished pictures, as the server reports them: newest first, each
// picture's touch-ups right after it, beside the first.
"use strict";

import { $, clock, el, shown } from "./util.js";

function settingsText(values) {
  const parts = Object.entries(values).map(([k, v]) => `${k.replaceAll("_", " ")} ${shown(v)}`);
  return parts.length ? parts.join(" · ") : "default settings";
}

export function renderQueue(page, cancel) {
  const list = $("queue");
  list.replaceChildren();
  for (const id of page.queue) {
    const painting = page.paintings.get(id);
    if (!painting) continue;
    list.append(el("li", { "data-id": id },
      el("span", {}, painting.title, el("span", { class: "small" }, painting.estimate ? ` · about ${painting.estimate.time}` : "")),
      el("button", { type: "button", class: "link", onclick: () => cancel(id) }, "remove")));
  }
  if (!page.queue.length) list.append(el("li", { class: "small empty" }, "Nothing waiting."));
}

function finishedInOrder(page) {
  const all = [...page.paintings.values()].filter((p) => p.result || p.state === "failed");
  const ordered = [];
  // a touch-up whose first picture the server no longer keeps stands on its own
  const firsts = new Set(all.map((q) => q.id));
  for (const p of all.filter((q) => !q.origin || !firsts.has(q.origin)).reverse()) {
    ordered.push(p, ...all.filter((q) => q.origin === p.id));
  }
  return ordered;
}

export function renderResults(page, select, useAsStart) {
  const list = $("results");
  list.replaceChildren();
  for (const p of finishedInOrder(page)) {
    const card = el("li", { class: `result ${p.state}${p.touch_up_of ? " touch-up" : ""}`, "data-id": p.id });
    if (p.result) {
      card.append(el("button", { type: "button", class: "picture", title: "compare with the photo", onclick: () => select(p) }, el("img", { src: p.result.png, alt: p.title })));
    }
    const what = p.touch_up_of ? "touch-up · " : "";
    const badge = what + (p.state === "done" ? `${p.width}×${p.height} · ${clock(p.elapsed)}` : p.state);
    const start = p.start && p.start !== "the photo" ? ` · from ${p.start}` : "";
    card.append(el("p", { class: "title" }, p.title), el("p", { class: "small settings" }, `${badge} · ${settingsText(p.settings)}${start}`));
    if (p.error) card.append(el("p", { class: "error small" }, p.error));
    if (p.result) {
      const stem = p.title.replace(/[^A-Za-z0-9]+/g, "_") + (p.touch_up_of ? "_touchup" : "");
      card.append(el("p", { class: "links" },
        el("a", { href: p.result.png, download: `${stem}.png`, class: "download-png" }, "PNG"), " ",
        el("a", { href: p.result.jpg, download: `${stem}.jpg` }, "JPEG"), " ",
        el("a", { href: p.result.webp, download: `${stem}.webp` }, "WebP"), " ",
        el("button", { type: "button", class: "link compare", onclick: () => select(p) }, "compare"), " ",
        el("button", { type: "button", class: "link", onclick: () => useAsStart(p) }, "use as start")));
    }
    list.append(card);
  }
}

