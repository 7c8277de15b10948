// Before and after: a finished picture over its photo, a slider wiping from one to the other,
// at the page's width or at full size; a touch-up beside the picture it started from; and the
// Touch up button, which paints the picture again at its size with the settings set now.
"use strict";

import { $ } from "./util.js";

export class Compare {
  // viewOf(pictureId): the URL of a picture's large view; touchUp(painting): start one.
  constructor(viewOf, touchUp) {
    this.viewOf = viewOf;
    this.painting = null;
    const slider = $("wipe-slider");
    slider.addEventListener("input", () => this.wipe(Number(slider.value)));
    $("wipe").addEventListener("pointerdown", (e) => this.drag(e));
    $("wipe").addEventListener("pointermove", (e) => { if (e.buttons) this.drag(e); });
    $("full-size").addEventListener("change", () => this.size());
    $("touch-up").addEventListener("click", () => this.painting && touchUp(this.painting));
  }

  // Show a finished painting (and, for a touch-up, the picture it started from beside it).
  show(painting, first) {
    this.painting = painting;
    $("compare").hidden = false;
    $("compare").dataset.id = painting.id;
    $("compare-title").textContent = `${painting.title}${painting.touch_up_of ? " · touch-up" : ""}`;
    $("wipe-after").src = painting.result.png;
    $("wipe-before").src = this.viewOf(painting.inputs.content);
    $("wipe").style.setProperty("--ratio", String(painting.width / painting.height));
    this.size();
    this.wipe(Number($("wipe-slider").value));
    const pair = first && first.result;
    $("pair").hidden = !pair;
    if (pair) {
      $("pair-first").src = first.result.png;
      $("pair-second").src = painting.result.png;
    }
  }

  // The photo shows left of the line, the painted picture right of it (0..100 %).
  wipe(percent) {
    $("wipe-before").style.clipPath = `inset(0 ${100 - percent}% 0 0)`;
    $("wipe-line").style.left = `${percent}%`;
    $("wipe-slider").value = percent;
  }

  drag(e) {
    const r = $("wipe").getBoundingClientRect();
    this.wipe(Math.max(0, Math.min(100, ((e.clientX - r.left) / r.width) * 100)));
  }

  // At full size the picture keeps its pixels (the box scrolls); else it fits the page.
  size() {
    const full = $("full-size").checked && this.painting;
    $("wipe-box").classList.toggle("full", Boolean(full));
    $("wipe").style.width = full ? `${this.painting.width}px` : "";
  }
}
