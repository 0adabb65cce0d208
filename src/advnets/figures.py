"""Every figure by name, from a run directory or snapshot to a PNG file (written atomically).

    fig1     Figure 1 from a 1-D run's probes              (run directory of e.g. toy-1d)
    fig2     Figure 2: samples and nearest training images (image models)
    fig3     Figure 3: interpolation in z                  (image models)
    curves   losses, D outputs, schedules, diversity, metrics over training (any run directory)
    modes    samples over the mode centres                 (2-D mixtures)
    classes  one row of samples per class                  (conditional models)
    inpaint  test images, what G sees, completions         (inpainting models)

The drawing itself lives in ``advnets.viz``; this module gathers what each figure needs.
"""

from __future__ import annotations

import time
from pathlib import Path

from advnets.errors import ConfigError

# torch and the drawing libraries are imported inside the functions: the command line reads FIGURES
# (at the end of this module) to build its parser, and should start fast.


def _shown(snap, x):
    """Images [N, C, H, W] of `snap`'s model space as uint8 pixels for showing (data/preprocess.py)."""
    from advnets.data.preprocess import for_data
    from advnets.viz import to_uint8

    return to_uint8(x, for_data(snap.config.data))


def _run_dir(source: str | Path, kind: str) -> Path:
    path = Path(source)
    if not path.is_dir():
        raise ConfigError(f"{kind} needs a run directory; {path} is not one")
    return path


def _spec(snap):
    from advnets.data import registry as datasets

    return datasets.for_config(snap.config.data)


def _image_snapshot(source: str | Path, kind: str, variant: str = "auto"):
    from advnets.snapshot import load_snapshot

    snap = load_snapshot(source, variant=variant)
    if not _spec(snap).is_image:
        raise ConfigError(f"{kind} needs an image model; this one was trained on '{snap.config.data.name}'")
    if kind != "inpaint":
        from advnets.sampling import require_whole_images

        require_whole_images(snap, kind)
    return snap


def _label(snap) -> str:
    """'NAME step N' (and 'averaged G' when the snapshot's moving average of G is drawn)."""
    return f"{snap.config.name} step {snap.step}" + (" (averaged G)" if snap.variant == "ema" else "")


def fig1(source, out: Path, steps: list[int] | None = None) -> str:
    from advnets.train.rundir import PROBES_FILE, read_stats
    from advnets.viz.toy_figures import draw_fig1

    run = _run_dir(source, "fig1")
    probes = read_stats(run, PROBES_FILE)
    if not probes:
        raise ConfigError(f"{run} holds no {PROBES_FILE}: fig1 needs the run directory of a 1-D run "
                          "(e.g. advnets train toy-1d)")
    try:
        draw_fig1(probes, out, steps, title=run.name)
    except ValueError as e:
        raise ConfigError(f"--steps: {e}") from None
    return f"{len(probes)} probes"


def fig2(source, out: Path, rows: int = 5, cols: int = 4, seed: int = 0, data_dir: str | None = None,
         variant: str = "auto") -> str:
    """rows x cols samples; the nearest training image (exact L2 over the whole training split) of
    each row's last sample. All rows x cols samples are searched; the time is reported."""
    from advnets.data import preprocess as preprocessing
    from advnets.metrics.nearest import nearest_rows
    from advnets.sampling import generate
    from advnets.viz.image_figures import draw_fig2

    snap = _image_snapshot(source, "fig2", variant)
    train, _ = preprocessing.load_images(snap.config.data, "train", data_dir)  # [N, C, H, W], the model's space
    x = generate(snap.generator, rows * cols, seed=seed)  # [rows*cols, C, H, W]
    t0 = time.perf_counter()
    index, _ = nearest_rows(x.reshape(len(x), -1).float(), train.reshape(len(train), -1))
    search_s = time.perf_counter() - t0
    samples = _shown(snap, x).reshape(rows, cols, *x.shape[1:])
    last = index.reshape(rows, cols)[:, -1]
    neighbours = _shown(snap, train[last])  # [rows, C, H, W] uint8
    draw_fig2(samples, neighbours, out, title=f"{_label(snap)}: samples of seed {seed} "
                                             f"(not cherry-picked); right: nearest of {len(train)} training images")
    return f"nearest-neighbour search: {len(x)} samples x {len(train)} training images in {search_s:.3f} s"


def fig3(source, out: Path, rows: int = 5, steps: int = 10, seed: int = 0, spherical: bool = False,
         variant: str = "auto") -> str:
    from advnets.sampling import interpolate
    from advnets.viz.image_figures import draw_fig3

    import torch

    snap = _image_snapshot(source, "fig3", variant)
    G = snap.generator
    ends = G.sample_z(2 * rows, torch.Generator().manual_seed(seed), "cpu").reshape(rows, 2, -1)  # [rows, 2, z]
    z = torch.stack([interpolate(a, b, steps, spherical) for a, b in ends])  # [rows, steps, z_dim]
    # a class-conditional G: row i keeps class i (mod the number of classes) along its interpolation
    labels = (torch.arange(rows) % G.n_classes).repeat_interleave(steps) if G.n_classes else None  # [rows * steps]
    with torch.no_grad():
        x = G(z.reshape(rows * steps, -1), labels) if labels is not None else G(z.reshape(rows * steps, -1))
    kind = "spherical" if spherical else "linear"
    draw_fig3(_shown(snap, x).reshape(rows, steps, *x.shape[1:]), out,
              title=f"{_label(snap)}: {kind} interpolation in z, seed {seed} (framed: endpoints)")
    return f"{rows} rows x {steps} steps"


def curves(source, out: Path) -> str:
    from advnets.metrics.registry import HEADLINES, METRICS_FILE
    from advnets.train.rundir import PROBES_FILE, read_stats
    from advnets.viz.curves import draw_curves

    run = _run_dir(source, "curves")
    stats = read_stats(run)
    if not stats:
        raise ConfigError(f"{run} holds no statistics yet (stats.jsonl); is it a run directory?")
    draw_curves(stats, read_stats(run, METRICS_FILE), read_stats(run, PROBES_FILE), out, title=run.name,
                headlines=HEADLINES)
    return f"{len(stats)} statistics rows"


def modes(source, out: Path, n: int = 2500, seed: int = 0, variant: str = "auto") -> str:
    from advnets.metrics.modes import mode_report
    from advnets.metrics.spec import require
    from advnets.sampling import generate
    from advnets.snapshot import load_snapshot
    from advnets.viz.toy_figures import draw_modes

    snap = load_snapshot(source, variant=variant)
    require(snap, ("mixture-2d",), "modes")
    mixture = _spec(snap).mixture(snap.config.data)
    samples = generate(snap.generator, n, seed=seed)
    report = mode_report(samples, mixture.means, float(mixture.stds[0]))
    draw_modes(samples.numpy(), mixture.means.numpy(), float(mixture.stds[0]), out,
               title=f"{_label(snap)}, {n} samples, seed {seed}", counts=report.counts)
    return f"{n} samples, {report.modes} of {report.total_modes} modes captured"


def classes(source, out: Path, cols: int = 10, seed: int = 0, variant: str = "auto") -> str:
    """A conditional model: row c holds `cols` samples drawn for class c."""
    from advnets.sampling import generate
    from advnets.viz.image_figures import draw_rows

    import torch

    snap = _image_snapshot(source, "classes", variant)
    n_classes = snap.generator.n_classes
    if not n_classes:
        raise ConfigError("classes needs a conditional model (trained with data.conditional=true)")
    labels = torch.arange(n_classes).repeat_interleave(cols)  # [n_classes * cols]
    x = generate(snap.generator, len(labels), seed=seed, labels=labels)
    draw_rows(_shown(snap, x).reshape(n_classes, cols, *x.shape[1:]), out,
              title=f"{_label(snap)}: row c = samples of class c, seed {seed}",
              row_labels=[str(c) for c in range(n_classes)])
    return f"{n_classes} classes x {cols} samples"


def inpaint(source, out: Path, mask: str = "right-half", rows: int = 8, completions: int = 6, seed: int = 0,
            first: int = 0, data_dir: str | None = None, variant: str = "auto") -> str:
    """Test images first .. first + rows - 1 with `mask` hiding some pixels: each row shows the
    original, the input G sees, and `completions` completions."""
    from advnets.data.masks import named_masks
    from advnets.sampling import complete
    from advnets.viz import to_uint8
    from advnets.viz.image_figures import draw_inpainting

    snap = _image_snapshot(source, "inpaint", variant)
    if snap.generator.condition.kind != "mask":
        raise ConfigError("inpaint needs an inpainting model (trained with data.inpainting=true, e.g. the "
                          "inpaint-mnist preset)")
    test, _ = _spec(snap).load_images("test", data_dir or snap.config.data.dir)  # [N, C, H, W] in [0, 1]
    if not 0 <= first <= len(test) - rows:
        raise ConfigError(f"--first {first}: the test split has {len(test)} images; choose 0 .. {len(test) - rows}")
    images = test[first : first + rows]  # [rows, C, H, W]
    masks = named_masks(mask, rows, tuple(images.shape[-2:]), seed=seed)
    x = complete(snap.generator, images, masks, completions, seed)  # [rows, k, 1, H, W]
    title = f"{_label(snap)}: mask {mask}, test images {first}..{first + rows - 1}, seed {seed}"
    draw_inpainting(to_uint8(images), masks.numpy(), to_uint8(x), out, title=title)
    return f"{rows} test images x {completions} completions, mask {mask}"


def fig1_animation(source, out: Path) -> str:
    """Figure 1's panel at every probe of a 1-D run (probes.jsonl), one frame each, labelled with its step, over
    the JSD and |D - D*| curves so far."""
    import tempfile

    from advnets.train.rundir import PROBES_FILE, read_stats
    from advnets.viz.grid import save_gif
    from advnets.viz.toy_figures import draw_fig1

    run = _run_dir(source, "fig1")
    probes = read_stats(run, PROBES_FILE)
    if not probes:
        raise ConfigError(f"{run} holds no {PROBES_FILE}: fig1 --animate needs the run directory of a 1-D run "
                          "(e.g. advnets train toy-1d)")
    with tempfile.TemporaryDirectory() as tmp:
        frames = []
        for i, probe in enumerate(probes):
            frames.append(Path(tmp) / f"{i:05d}.png")
            draw_fig1(probes[: i + 1], frames[-1], [probe["step"]], title=f"{run.name}, step {probe['step']}")
        save_gif(frames, out)
    return f"{len(frames)} frames, steps {probes[0]['step']} to {probes[-1]['step']}"


def modes_animation(source, out: Path) -> str:
    """A 2-D run's samples over training: its progress plots (samples/step-*.png, G's fixed latent batch at
    every train.sample_every), one frame each, each titled with its step."""
    from advnets.viz.grid import save_gif

    run = _run_dir(source, "modes")
    frames = sorted((run / "samples").glob("step-*.png"))
    if not frames:
        raise ConfigError(f"{run} holds no progress plots (samples/step-*.png): modes --animate needs the run "
                          "directory of a 2-D run (e.g. advnets train toy-ring)")
    save_gif(frames, out)
    return f"{len(frames)} frames"


ANIMATIONS = {"fig1": fig1_animation, "modes": modes_animation}  # advnets figure KIND --animate


def draw(kind: str, source, out: Path, animate: bool = False, **options) -> str:
    """Draw figure `kind` from `source` into `out` (atomically; with `animate`, the figure over training as an
    animated GIF); returns a one-line summary."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{'.gif' if animate else '.png'}")
    try:
        summary = ANIMATIONS[kind](source, tmp) if animate else FIGURES[kind](source, tmp, **options)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return summary


FIGURES = {"fig1": fig1, "fig2": fig2, "fig3": fig3, "curves": curves, "modes": modes, "classes": classes,
           "inpaint": inpaint}
