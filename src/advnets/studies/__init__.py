"""Studies: many runs as one experiment, over seeds and settings, on one machine or many (advnets study).

    spec.py       the YAML spec: base config, settings (named, a grid, or drawn), seeds, budget, objective
    storage.py    the study in Optuna's RDB storage (SQLite by default, PostgreSQL shared): queue, claims, heartbeats
    create.py     a spec made into a study (or joined, or extended)
    calibrate.py  a wall-clock budget turned into updates, once per setting
    worker.py     workers: take a queued trial, train it (an ordinary run folder, resumed if need be), score it
    table.py      the settings compared over seeds: median, mean +- SE, worst, paired differences, best after k
    holdout.py    the chosen setting on the test split, once
    status.py     where a study stands
    report.py     the study's report.html
"""
