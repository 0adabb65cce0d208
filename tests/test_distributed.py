"""Training under torch.distributed (advnets.distributed), on the CPU with gloo, launched by torchrun as a
user would: ranks found from torchrun's variables, the global minibatch shared out, gradients averaged,
rank 0 alone writing, resumes bit-exact, two "nodes" on 127.0.0.1, a killed rank."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from advnets.distributed import Ranks, check_batch_size, ranks_from_environment
from advnets.errors import ConfigError
from advnets.tensorfile import load_tensors
from tests.conftest import TINY_CONV

SHORT = ["train.log_every=10", "train.checkpoint_every=20", "train.sample_every=40", "train.progress=false"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args: str, nproc: int = 2, cwd: Path | None = None, timeout: float = 300, extra: tuple = (),
             wait: bool = True):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), *extra]
    if not extra:
        command += ["--master-port", str(_port())]
    command += list(args)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_tensors(run / "network-latest.safetensors")[0]


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _stats(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("steps_per_s", "wall_s")} for r in rows]


def test_ranks_come_from_torchruns_variables():
    assert ranks_from_environment({}) == Ranks(0, 1, 0) and not Ranks().distributed
    ranks = ranks_from_environment({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert ranks == Ranks(3, 4, 1) and ranks.distributed and not ranks.is_main
    with pytest.raises(ConfigError, match="not a valid place"):
        ranks_from_environment({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ConfigError, match="must be integers"):
        ranks_from_environment({"RANK": "a", "WORLD_SIZE": "2"})
    assert check_batch_size(100, Ranks(0, 4, 0)) == 25
    with pytest.raises(ConfigError, match="must divide among the 3 ranks"):
        check_batch_size(100, Ranks(0, 3, 0))


WORKER = textwrap.dedent("""
    # One simultaneous update of a preset's model (argv[3:]: preset, overrides), dropout off, every rank given
    # its slice of the same global minibatch of noise: run with 1 and with 2 ranks, the weights must agree to
    # float32 rounding.
    import sys
    import torch
    from advnets.config import load_config
    from advnets.distributed import process_group, ranks_from_environment
    from advnets.tensorfile import save_tensors
    from advnets.train.algorithm import simultaneous_update
    from advnets.train import build_game, plan_training

    data_dir, out, preset = sys.argv[1], sys.argv[2], sys.argv[3]
    cfg = load_config(preset, [f"data.dir={data_dir}", "device=cpu", "discriminator.input_keep=1",
                               "discriminator.hidden_keep=1", *sys.argv[4:]])
    ranks = ranks_from_environment()
    with process_group(ranks, torch.device("cpu")):
        game = build_game(plan_training(cfg, ranks))
        z = game.g.net.sample_z(cfg.train.batch_size, torch.Generator().manual_seed(123))  # the global noise
        m = game.rules.local_batch_size
        game.g.net.sample_z = lambda n, generator=None, device=None: z[ranks.rank * m : (ranks.rank + 1) * m]
        simultaneous_update(game)
        if ranks.is_main:
            state = {**{"g." + k: v for k, v in game.g.net.state_dict().items()},
                     **{"d." + k: v for k, v in game.d.net.state_dict().items()}}
            save_tensors(out, state, {"ranks": ranks.world_size})
""")


@pytest.mark.parametrize("preset", ["paper-mnist", "paper-cifar10-conv"])
def test_two_ranks_make_the_update_one_process_makes(preset, request, tmp_path):
    """The paper's MNIST model, and the convolutional networks on contrast-normalised CIFAR-10 files."""
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    if preset == "paper-mnist":
        data_dir, extra = request.getfixturevalue("data_dir"), []
    else:
        data_dir, extra = request.getfixturevalue("cifar_dir"), [*TINY_CONV, "train.batch_size=32", "data.download=false"]
    for n in (1, 2):
        done = torchrun(str(worker), str(data_dir), str(tmp_path / f"w{n}.safetensors"), preset, *extra, nproc=n)
        assert done.returncode == 0, done.stdout + done.stderr
    one, two = (load_tensors(tmp_path / f"w{n}.safetensors")[0] for n in (1, 2))
    start = load_tensors(tmp_path / "w1.safetensors")[0]
    for k in one:
        assert torch.allclose(one[k], two[k], rtol=1e-5, atol=1e-7), k
    moved = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert moved < 1e-6 and start.keys() == two.keys()


def test_two_ranks_stop_and_resume_exactly_and_rank_0_alone_writes(tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    done = torchrun("-m", "advnets", "train", "toy-ring", "--out", str(whole), "--set", "train.steps=40", *SHORT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("training toy-ring:") == 1  # rank 0 speaks for all
    assert torchrun("-m", "advnets", "train", "toy-ring", "--out", str(split), "--set", "train.steps=20",
                    *SHORT).returncode == 0
    resumed = torchrun("-m", "advnets", "train", "--resume", str(split), "--set", "train.steps=40")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _same_weights(whole, split) and _stats(whole) == _stats(split)
    state = load_tensors(whole / "training-state.safetensors")
    assert state[1]["world_size"] == 2 and "rank1/rng" in state[0] and "rank1/data.rng" in state[0]
    assert not torch.equal(state[0]["rng"], state[0]["rank1/rng"])  # each rank its own noise
    from advnets.cli import main  # a distributed run's snapshots are ordinary ones: no torchrun to read them
    assert main(["sample", str(whole), "--n", "16", "--out", str(tmp_path / "s.npy")]) == 0
    other = torchrun("-m", "advnets", "train", "--resume", str(split), "--set", "train.steps=60", nproc=4)
    assert other.returncode != 0 and "saved by 2 process(es) and this run has 4" in other.stderr
    assert _same_weights(whole, split)  # refused before anything was written


def test_two_nodes_on_one_machine_rendezvous_and_agree_with_one_node(tmp_path):
    one_node, two_nodes = tmp_path / "one", tmp_path / "two"
    args = ["-m", "advnets", "train", "toy-ring", "--set", "train.steps=20", *SHORT]
    assert torchrun(*args[:4], "--out", str(one_node), *args[4:]).returncode == 0
    endpoint = f"127.0.0.1:{_port()}"
    nodes = [torchrun(*args[:4], "--out", str(two_nodes), *args[4:], nproc=1, wait=False,
                      extra=("--nnodes", "2", "--node-rank", str(r), "--rdzv-backend", "c10d",
                             "--rdzv-endpoint", endpoint, "--rdzv-id", "advnets-test"))
             for r in range(2)]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(outputs)
    assert _same_weights(one_node, two_nodes)


def test_a_killed_rank_leaves_a_checkpoint_that_resumes(tmp_path):
    run = tmp_path / "run"
    job = torchrun("-m", "advnets", "train", "toy-ring", "--out", str(run), "--set", "train.steps=100000",
                   "train.log_every=10", "train.checkpoint_every=50", "train.progress=false", wait=False)
    state = run / "training-state.safetensors"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (state.exists() and load_tensors(state)[1]["step"] >= 50):
        time.sleep(0.5)
    holder = re.match(r"pid (\d+)", (run / ".advnets-train.lock").read_text())  # rank 0 holds the run's lock
    os.kill(int(holder.group(1)), signal.SIGKILL)  # mid-run; torchrun then ends the other rank
    output = job.communicate(timeout=120)[0]
    assert job.returncode != 0
    step = load_tensors(state)[1]["step"]
    assert step >= 50 and step % 50 == 0
    # the survivor says in one advnets line which rank was lost, that the checkpoint is intact, how to go on
    said = [line for line in output.splitlines() if line.startswith("advnets: ")]
    assert len(said) == 1 and said[0].startswith("advnets: error: rank 0 of 2 stopped (its process ended)"), output
    assert f"the last checkpoint, step {step}, is intact in {run}; continue it with: torchrun --nproc-per-node 2 " \
           f"-m advnets train --resume {run}" in said[0]
    assert "[rank1]" not in output and "gloo" not in output.replace(said[0], ""), output  # no worker traceback
    resumed = torchrun("-m", "advnets", "train", "--resume", str(run), "--set", f"train.steps={step + 20}")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert load_tensors(state)[1]["step"] == step + 20


def test_a_signal_to_one_rank_stops_every_rank_after_the_same_iteration(tmp_path):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    args = ["toy-ring", "--set", "train.steps=1000", "train.log_every=10", "train.checkpoint_every=100",
            "train.sample_every=1000", "train.progress=false"]
    job = torchrun("-m", "advnets", "train", "--out", str(stopped), *args, wait=False)
    state = stopped / "training-state.safetensors"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (state.exists() and load_tensors(state)[1]["step"] >= 100):
        time.sleep(0.2)
    holder = re.match(r"pid (\d+)", (stopped / ".advnets-train.lock").read_text())
    os.kill(int(holder.group(1)), signal.SIGTERM)  # rank 0 only
    output = job.communicate(timeout=120)[0]
    step = load_tensors(state)[1]["step"]
    assert 100 <= step < 1000 and step % 100 != 0, output  # saved where it stopped, not at a checkpoint
    assert "SIGTERM: stopping after this iteration" in output and output.count("interrupted by SIGTERM at step") == 1
    assert torchrun("-m", "advnets", "train", "--out", str(whole), *args).returncode == 0
    resumed = torchrun("-m", "advnets", "train", "--resume", str(stopped))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _same_weights(whole, stopped) and _stats(whole) == _stats(stopped)
