"""Reference rows (advnets.metrics.references): a run's own row is read from its metrics.jsonl rows, and
the shipped measured rows name where they came from."""

from advnets.metrics import references


def test_a_runs_row_takes_the_latest_row_of_each_metric_and_its_spread():
    rows = [{"metric": "parzen", "mean": 100.0, "se": 2.0}, {"metric": "parzen", "baseline": "train", "mean": 242.7},
            {"metric": "parzen", "mean": 120.04, "se": 1.5},
            {"metric": "mnistclf-features", "fid_mnistclf": 8.791, "fid_mnistclf_se_seeds": 0.05,
             "kid_mnistclf": 5.176, "precision": 0.81}]
    row = references.run_row(rows, "mine")
    assert row["parzen"] == "120.0 ± 1.5"  # the latest of G's own, not the baseline's
    assert row["fid_mnistclf"] == "8.79 ± 0.05" and row["kid_mnistclf"] == "5.18" and row["precision"] == "0.810"
    assert "ais" not in row and references.run_row([{"metric": "modes", "modes": 8}], "toy") is None


def test_measured_references_name_their_command_and_cover_the_columns():
    rows = references.measured_references()
    assert rows, f"{references.REFERENCES_FILE} is missing (experiments/evaluation_table.py --write-references)"
    for row in rows:
        assert "experiments/evaluation_table.py" in row["source"]
        assert all(row[column] for column in ("parzen", "fid_mnistclf", "precision", "recall"))
    assert {"published"} == {row["source"] for row in references.PUBLISHED}
