import io

import advnets.progress as progress_module
from advnets.progress import Progress


def test_plain_lines_where_the_output_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(progress_module, "PLAIN_EVERY_S", 0.0)
    stream, copied = io.StringIO(), []
    with Progress(4, "quick-mnist", "step", stream=stream, copy_to=copied.append) as bar:
        bar.update(1)
        bar.set_fields({"D(x)": "0.612", "D(G(z))": "0.213"})
        bar.update(1)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("quick-mnist: step 1/4 (25%), ") and "ETA" in lines[0]
    assert lines[1].endswith("D(x) 0.612, D(G(z)) 0.213") and "step 2/4 (50%)" in lines[1]
    assert copied == lines[: len(copied)] and len(copied) == len(lines)  # the run's log.txt gets them too


def test_lines_are_spaced_and_quiet_when_disabled(monkeypatch):
    stream, copied = io.StringIO(), []
    with Progress(1000, "x", stream=stream) as bar:
        for _ in range(1000):
            bar.update(1)
    assert len(stream.getvalue().splitlines()) == 1  # one per PLAIN_EVERY_S seconds, and one at the end
    quiet = io.StringIO()
    with Progress(10, "x", stream=quiet, enabled=False, copy_to=copied.append) as bar:
        bar.update(10)
    assert quiet.getvalue() == "" and copied == []


def test_a_run_keeps_what_it_printed_in_log_txt(tiny_ring, tmp_path):
    from advnets.train.loop import train

    run = train(tiny_ring("train.steps=10"), tmp_path / "r").run_dir
    text = (run / "log.txt").read_text()
    assert "started: toy-ring, 10 steps" in text
