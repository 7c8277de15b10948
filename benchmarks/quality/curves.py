"""Curves, not single numbers: style distance against content distance over a strength sweep.

A picture must keep the photo AND take the painting. One configuration's single picture says
little (a lower style distance bought with the photo is a worse picture); its curve over
``--strength`` says where it sits on the trade-off. For each pair this paints every named
configuration at each strength, scores the pictures with the independent measures of
``measures.py`` (EfficientNet-Lite0 style and content distances, fine ripple), and draws one
panel per pair: a curve per configuration, the reference tool's picture as a point where there
is one, and the photo's own style distance. Resumable: rows already in results.json are kept.

    python -m benchmarks.quality.curves                      # 9 pairs, 512 px, old vs new
    python -m benchmarks.quality.curves --size 256 --pair tubingen-the_scream
    python -m benchmarks.quality.curves --plot-only          # redraw from results.json

Writes to benchmarks/quality/out/curves/ (git-ignored): results.json, curves.png,
sheets/<pair>.png (photo, painting, each configuration at strength 1, the reference) and
pictures/. Needs matplotlib besides benchmarks/quality/requirements.txt.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from benchmarks.quality import run as R  # the pairs, images, contact sheets and machine's name

HERE = Path(__file__).resolve().parent

STRENGTHS = (0.4, 0.6, 0.8, 1.0, 1.3)
# "old": the default until 2026-12-05 (issue 35), spelled out so that it paints the same
# picture whatever StyleConfig's defaults become; "new": whatever StyleConfig says now.
OLD = {"content_weight": 1.0, "init": "recolor"}
CONFIGS: dict[str, dict] = {"old": OLD, "new": {}}
OUT = HERE / "out" / "curves"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--pair", action="append", default=[], help="photo-painting (repeatable)")
    p.add_argument("--configs", default="old,new", help=f"from {', '.join(CONFIGS)}")
    p.add_argument(
        "--define",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="another configuration, e.g. cw3='{\"content_weight\": 3}' (repeatable)",
    )
    p.add_argument("--strengths", default=",".join(map(str, STRENGTHS)))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--plot-only", action="store_true")
    args = p.parse_args(argv)
    for item in args.define:
        name, _, kw = item.partition("=")
        CONFIGS[name] = json.loads(kw)
    args.config_names = [c for c in args.configs.split(",") if c]
    for c in args.config_names:
        if c not in CONFIGS:
            p.error(f"unknown configuration {c!r}; known: {', '.join(CONFIGS)}")
    args.strength_list = [float(s) for s in args.strengths.split(",")]
    known = {R.pair_name(*pp): pp for pp in R.PAIRS}
    args.pair_list = [known[w] for w in args.pair] if args.pair else list(R.PAIRS)
    return args


def load(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {"meta": {}, "rows": []}


def paint_all(args, data: dict) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from benchmarks.quality import measures as M

    impasto = R.import_impasto()
    net = M.LiteFeatures()
    data["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": R.cpu_model(),
        "threads": torch.get_num_threads(),
        "size": args.size,
        "torch": torch.__version__,
    }
    done = {(r["pair"], r["config"], r["strength"]) for r in data["rows"]}
    (args.out / "pictures").mkdir(parents=True, exist_ok=True)

    def save() -> None:
        (args.out / "results.json").write_text(json.dumps(data, indent=1))

    warm = torch.full((3, 48, 64), 0.5)
    impasto.stylize(warm, [warm], impasto.StyleConfig(size=64, iterations=1, min_size=0))
    for ph, pa in args.pair_list:
        pair = R.pair_name(ph, pa)
        photo = impasto.load_image(R.IMAGES / R.PHOTOS[ph]).rgb
        painting = impasto.load_image(R.IMAGES / R.PAINTINGS[pa]).rgb
        extra = [("photo", M.resize_long_side(photo, args.size))]
        if (ph, pa) in R.REFERENCES:
            ref = impasto.load_image(R.IMAGES / R.REFERENCES[(ph, pa)]).rgb
            extra.append(("reference", M.resize_long_side(ref, args.size)))
        for name, picture in extra:
            if (pair, name, None) in done:
                continue
            stages = M.style_distances(net, picture, painting)
            data["rows"].append(
                {
                    "pair": pair,
                    "config": name,
                    "strength": None,
                    "style": sum(stages.values()) / len(stages),
                    "content": M.content_distance(net, picture, photo),
                    "ripple": M.ripple_report(picture, photo, painting).ratio,
                    "seconds": None,
                }
            )
            save()
        for name in args.config_names:
            for strength in args.strength_list:
                if (pair, name, strength) in done:
                    continue
                kw = {**CONFIGS[name], "size": args.size, "strength": strength}
                start = time.perf_counter()
                picture = impasto.stylize(photo, [painting], impasto.StyleConfig(**kw))
                seconds = time.perf_counter() - start
                file = args.out / "pictures" / f"{pair}__{name}__{strength:g}.png"
                file.unlink(missing_ok=True)
                impasto.save_image(file, picture)
                stages = M.style_distances(net, picture, painting)
                rep = M.ripple_report(picture, photo, painting)
                row = {
                    "pair": pair,
                    "config": name,
                    "strength": strength,
                    "style": sum(stages.values()) / len(stages),
                    "content": M.content_distance(net, picture, photo),
                    "ripple": rep.ratio,
                    "share": rep.share_ratio,
                    "seconds": seconds,
                    "picture": str(file),
                }
                data["rows"].append(row)
                save()
                print(
                    f"{pair:<28} {name:<5} s={strength:<4g} style {row['style']:.3f} "
                    f"content {row['content']:.3f} ripple {rep.ratio:.2f} {seconds:5.1f} s",
                    flush=True,
                )
        sheet(args, data, pair, photo, painting, impasto, M)


def sheet(args, data, pair, photo, painting, impasto, M) -> None:
    """photo, painting, each configuration at strength 1, and the reference."""
    tiles = [
        ("photo", [], M.resize_long_side(photo, args.size)),
        ("painting", [], M.resize_long_side(painting, args.size)),
    ]
    for r in data["rows"]:
        if r["pair"] != pair or r["strength"] not in (None, 1.0) or r["config"] == "photo":
            continue
        if r["config"] == "reference":
            ph, pa = pair.split("-", 1)
            picture = impasto.load_image(R.IMAGES / R.REFERENCES[(ph, pa)]).rgb
            label = "reference: jcjohnson/neural-style"
        else:
            picture = impasto.load_image(r["picture"]).rgb
            label = f"{r['config']} default"
        lines = [f"style {r['style']:.3f}  content {r['content']:.3f}"]
        tiles.append((label, lines, M.resize_long_side(picture, args.size)))
    R.contact_sheet(
        args.out / "sheets" / f"{pair}.png",
        f"{pair} ({args.size} px; EfficientNet-Lite0 distances, lower is closer)",
        tiles,
        columns=len(tiles),
    )


COLOURS = {"old": "#9a9a9a", "new": "#c0392b"}


def plot(args, data: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(dict.fromkeys(r["pair"] for r in data["rows"]))
    cols = 3
    rows = math.ceil(len(pairs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    for ax, pair in zip(axes.flat, pairs):
        mine = [r for r in data["rows"] if r["pair"] == pair]
        for name in dict.fromkeys(r["config"] for r in mine if r["strength"] is not None):
            pts = sorted((r for r in mine if r["config"] == name), key=lambda r: r["strength"])
            xs = [r["content"] for r in pts]
            ys = [r["style"] for r in pts]
            colour = COLOURS.get(name)
            ax.plot(xs, ys, "o-", color=colour, label=f"{name} default", ms=4)
            for r in pts:
                ax.annotate(
                    f"{r['strength']:g}", (r["content"], r["style"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points", color=colour,
                )  # fmt: skip
            at1 = [r for r in pts if r["strength"] == 1.0]
            if at1:
                ax.plot([at1[0]["content"]], [at1[0]["style"]], "s", color=colour, ms=8)
        for r in mine:
            if r["config"] == "reference":
                ax.plot([r["content"]], [r["style"]], "*", color="#1f4e9a", ms=14,
                        label="jcjohnson/neural-style")  # fmt: skip
        ax.set_title(pair, fontsize=10)
        ax.set_xlabel("content distance (to the photo)", fontsize=8)
        ax.set_ylabel("style distance (to the painting)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9)
    meta = data.get("meta", {})
    fig.suptitle(
        f"Style against content distance over --strength 0.4-1.3 (square: 1), "
        f"{meta.get('size', '?')} px; lower-left is better on both",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    path = args.out / "curves.png"
    fig.savefig(path, dpi=90)
    return path


def content_at(points: list[dict], style: float) -> float | None:
    """The content distance of a curve (points over strength) at this style distance, by
    linear interpolation between neighbouring strengths; None outside the curve's span."""
    pts = sorted(points, key=lambda r: r["style"])
    for a, b in zip(pts, pts[1:]):
        if a["style"] <= style <= b["style"] and b["style"] > a["style"]:
            t = (style - a["style"]) / (b["style"] - a["style"])
            return a["content"] + t * (b["content"] - a["content"])
    return None


def table(data: dict, base: str = "old", new: str = "new") -> str:
    """Markdown: each pair's pictures at strength 1 and the reference, and how far the new
    curve lies below the old one (content distance at equal style, where both reach)."""
    lines = [
        "| pair | old default (style, content, ripple) | new default | reference | new curve "
        "against old: content at equal style (mean, range over the new points) | s old | s new |",
        "| --- | --- | --- | --- | --- | ---: | ---: |",
    ]
    for pair in dict.fromkeys(r["pair"] for r in data["rows"]):
        mine = [r for r in data["rows"] if r["pair"] == pair]
        curve = {c: [r for r in mine if r["config"] == c and r["strength"] is not None]
                 for c in (base, new)}  # fmt: skip
        at1 = {c: next((r for r in curve[c] if r["strength"] == 1.0), None) for c in curve}
        ref = next((r for r in mine if r["config"] == "reference"), None)

        def cell(r):
            if r is None:
                return "—"
            return f"{r['style']:.3f}, {r['content']:.3f}, {r['ripple']:.2f}"

        gaps = []
        for r in curve[new]:
            old = content_at(curve[base], r["style"])
            if old is not None:
                gaps.append(r["content"] - old)
        gap = (
            f"{sum(gaps) / len(gaps):+.3f} ({min(gaps):+.3f} to {max(gaps):+.3f}, {len(gaps)} pts)"
            if gaps
            else "— (no common span)"
        )
        secs = [f"{at1[c]['seconds']:.1f}" if at1[c] else "—" for c in (base, new)]
        lines.append(
            f"| {pair} | {cell(at1[base])} | {cell(at1[new])} | {cell(ref)} | {gap} | "
            f"{secs[0]} | {secs[1]} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    data = load(args.out / "results.json")
    if not args.plot_only:
        paint_all(args, data)
    print(f"wrote {plot(args, data)}")
    if any(r["config"] == "old" for r in data["rows"]):
        text = table(data)
        (args.out / "curves.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
