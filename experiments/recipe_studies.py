"""The CPU recipe search (issue 30) as two studies, experiments/studies/cpu-recipe-screen.yaml and
cpu-recipe-confirm.yaml: its results of 2026-12-02 (experiments/results/cpu_recipe.json, trained by the search's
former runner on the AMD EPYC VM) carried into the studies' storage rather than trained again, and the tables of
docs/reproduction.md ("The CPU recipe") printed from the studies.

    python experiments/recipe_studies.py carry --out runs/studies    # makes runs/studies/cpu-recipe-{screen,confirm}
    python experiments/recipe_studies.py tables runs/studies         # the screen, confirm and test tables

A result is carried only where the study's trial is the search's run: the same config in every key that changes
the weights (the bookkeeping keys apart: when to log, checkpoint, sample) and the same number of updates. The
search's budget calibration (each candidate timed against the former fast-mnist's 5,000 updates, its 4 minutes on
2 threads) is carried as the studies' budget. A later round of the search is an ordinary study: add its settings to
the spec, `advnets study create SPEC --out DIR --extend`, `advnets study run DIR`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "experiments" / "results" / "cpu_recipe.json"
SPECS = {"screen": REPO / "experiments" / "studies" / "cpu-recipe-screen.yaml",
         "confirm": REPO / "experiments" / "studies" / "cpu-recipe-confirm.yaml"}
REFERENCE, REFERENCE_STEPS = "fast-mnist", 5000  # the search's yardstick: its 5,000 updates were the 4 minutes
# Keys that only say when to log, checkpoint, sample or validate: never the weights' trajectory
BOOKKEEPING = {"name", "train.progress", "train.log_every", "train.sample_every", "train.checkpoint_every",
               "train.snapshot_every", "train.valid_every", "train.valid_samples"}
SEARCH_QUIET = ["train.valid_every=0", "train.progress=false", "train.log_every=100"]  # what the search's runs set


def candidate_of(setting: str) -> tuple[str, int | None]:
    """The search's candidate a setting is (the confirm study's settings end in -t1 / -t2: its threads)."""
    for threads in (1, 2):
        if setting.endswith(f"-t{threads}"):
            return setting[: -len(f"-t{threads}")], threads
    return setting, None


def same_run(spec, setting: str, seed: int, updates: int, run: dict, overrides: list[str]) -> bool:
    """Whether the study's trial of `setting` and `seed` is the search's `run` in every key that changes weights."""
    from advnets.config import flatten, load_config, to_dict

    ours = flatten(to_dict(load_config(spec.base, spec.trial_overrides(setting, seed, updates))))
    theirs = flatten(to_dict(load_config("paper-mnist", [*overrides, *SEARCH_QUIET, f"seed={run['seed']}",
                                                         f"threads={run['threads']}", f"train.steps={run['step']}"])))
    return all(ours[key] == theirs[key] for key in ours if key not in BOOKKEEPING)


def carried_trials(spec, results: dict, calibration: dict) -> list[dict]:
    """The search's runs that are trials of `spec`, as finished trials (value: validation FID)."""
    trials = []
    for setting, overrides in spec.settings.items():
        candidate, threads = candidate_of(setting)
        for seed in spec.seeds:
            run = results["runs"].get(f"{candidate}/seed{seed}/threads{threads or 2}")
            updates = calibration[setting]["updates"]
            if run is None or not same_run(spec, setting, seed, updates, run, list(overrides)):
                continue  # not run by the search, or another run: the study trains it
            row = {k: v for k, v in run.items() if isinstance(v, (int, float, str)) or k == "class_histogram"}
            trials.append({"setting": setting, "seed": seed, "value": run["fid_mnistclf"], "user_attrs": {
                "row": row, "run": run["run"], "machine": "AMD EPYC VM (2 cores, AVX-512)", "seconds": run["wall_s"],
                "carried_from": str(RESULTS.relative_to(REPO))}})
    return trials


def carried_calibration(spec, results: dict) -> dict:
    out = {}
    for setting in spec.settings:
        cal = results["calibration"][candidate_of(setting)[0]]
        out[setting] = {"updates": cal["steps"], "updates_per_s": round(REFERENCE_STEPS * cal["relative_speed"] / 240, 3),
                        "threads": 2, "seconds": 240.0, "relative_speed": cal["relative_speed"],
                        "machine": "AMD EPYC VM (2 cores, AVX-512), torch 2.13.0+cpu", "date": "2026-12-02",
                        "how": f"timed against {REFERENCE}'s {REFERENCE_STEPS} updates (the search's calibration)"}
    return out


def carried_tests(results: dict) -> list[dict]:
    """The search's test of its chosen candidate: each run's test FID (the mean of its 5 sample sets), per thread count."""
    chosen, records = results["chosen"], []
    for threads in (1, 2):
        scores = {}
        for seed in (0, 1, 2):
            sets = [row["fid_mnistclf"] for key, row in results["test"].items()
                    if key.startswith(f"{chosen}/seed{seed}/threads{threads}/")]
            scores[str(seed)] = statistics.fmean(sets)
        values = list(scores.values())
        records.append({"setting": f"{chosen}-t{threads}", "date": "2026-12-02", "split": "test",
                        "sample_seed": "0-4 (each seed the mean of 5 sample sets)", "scores": scores,
                        "median": statistics.median(values), "mean": statistics.fmean(values),
                        "se": statistics.stdev(values) / len(values) ** 0.5, "carried_from": str(RESULTS.relative_to(REPO))})
    return records


def carry(out: Path) -> None:
    from advnets.studies import storage as stores
    from advnets.studies.create import create
    from advnets.studies.spec import read_spec

    results = json.loads(RESULTS.read_text())
    for which, path in SPECS.items():
        spec = read_spec(path)
        calibration = carried_calibration(spec, results)
        trials = carried_trials(spec, results, calibration)
        folder = create(spec, out / spec.name, calibrated=calibration, carried=trials)
        if which == "confirm":
            stores.load_study(folder).study.set_user_attr(stores.TEST_ATTR, carried_tests(results))
        print(f"{spec.name}: {len(trials)} of {len(spec.settings) * len(spec.seeds)} trials carried over")


def tables(folder: Path) -> None:
    from advnets.studies import storage as stores

    screen = stores.load_study(stores.read_folder(folder / "cpu-recipe-screen"))
    confirm = stores.load_study(stores.read_folder(folder / "cpu-recipe-confirm"))
    print_screen(screen)
    print_confirm(confirm)
    print_test(confirm)


def _finished(opened):
    from optuna.trial import TrialState

    return [t for t in stores_units(opened) if t.state == TrialState.COMPLETE]


def stores_units(opened):
    from advnets.studies.storage import units

    return units(opened.study)


def print_screen(opened) -> None:
    from advnets.studies.storage import UPDATES_ATTR

    spec, cal = opened.spec, opened.study.user_attrs[UPDATES_ATTR]
    print(f"Screen: seed 0, 2 threads, validation split, 10,000 samples (budget: {REFERENCE_STEPS} updates of "
          f"{REFERENCE}'s cost, about 4 minutes)")
    print(f"| candidate | what it changes | speed vs {REFERENCE} | updates | FID_mnistclf | precision | recall | "
          "coverage | classes KL | largest class |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in sorted(_finished(opened), key=lambda t: t.value):
        name, r = t.user_attrs["setting"], t.user_attrs["row"]
        top = max(range(10), key=lambda c: r["class_histogram"][c])
        print(f"| {name} | {spec.notes.get(name, '')} | {cal[name]['relative_speed']:.2f}x | {cal[name]['updates']} | "
              f"{t.value:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['coverage']:.3f} | "
              f"{r['class_kl_uniform']:.3f} | {top}: {100 * r['class_histogram'][top]:.1f}% |")


def print_confirm(opened) -> None:
    """Each candidate over its 6 runs (seeds 0-2 x 1 and 2 threads: two settings of the study), median [worst],
    ranked by the worst run, then the median."""
    by_candidate: dict[str, list] = {}
    for t in _finished(opened):
        by_candidate.setdefault(candidate_of(t.user_attrs["setting"])[0], []).append(t)
    print("\nConfirm: seeds 0-2 x 1 and 2 threads, validation split (median [worst] of the 6 runs; ranked by the "
          "worst, then the median)")
    print("| candidate | FID_mnistclf | recall | coverage | classes KL | each run's FID (seed/threads) |")
    print("|---|---|---|---|---|---|")

    def cell(runs, key, worst):
        values = [t.user_attrs["row"][key] for t in runs]
        return f"{statistics.median(values):.3f} [{worst(values):.3f}]"

    ranked = sorted(by_candidate.items(), key=lambda item: (max(t.value for t in item[1]),
                                                            statistics.median(t.value for t in item[1])))
    for name, runs in ranked:
        runs = sorted(runs, key=lambda t: (t.user_attrs["seed"], candidate_of(t.user_attrs["setting"])[1]))
        fids = [t.value for t in runs]
        each = ", ".join(f"{t.value:.0f} ({t.user_attrs['seed']}/{candidate_of(t.user_attrs['setting'])[1]})"
                         for t in runs)
        print(f"| {name} | {statistics.median(fids):.1f} [{max(fids):.1f}] | {cell(runs, 'recall', min)} | "
              f"{cell(runs, 'coverage', min)} | {cell(runs, 'class_kl_uniform', max)} | {each} |")
    print(f"chosen: {ranked[0][0]}")


def print_test(opened) -> None:
    from advnets.studies.storage import TEST_ATTR

    records = opened.study.user_attrs.get(TEST_ATTR, [])
    print("\nTest split, the chosen recipe only (each run's FID the mean of 5 sample sets, sample seeds 0-4):")
    values = []
    for record in records:
        for seed, value in record["scores"].items():
            print(f"  {record['setting']}, seed {seed}: {value:.1f}")
            values.append(value)
    if values:
        print(f"fid_mnistclf: median {statistics.median(values):.3f}, worst {max(values):.3f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True)
    c = actions.add_parser("carry", help="make both studies, the search's results carried in")
    c.add_argument("--out", type=Path, required=True, help="the folder the two study folders go in")
    t = actions.add_parser("tables", help="print the search's tables from the two studies")
    t.add_argument("folder", type=Path, help="the folder holding cpu-recipe-screen and cpu-recipe-confirm")
    args = p.parse_args()
    carry(args.out) if args.action == "carry" else tables(args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
