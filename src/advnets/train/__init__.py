"""Training: Algorithm 1, the state it updates, and the run it writes.

    plan.py           plan_training(): a config resolved once (data set, device, threads, sizes, budget, rules)
    loop.py           train(): resolve, check, build, iterate, finish; the loop, one readable function
    build.py          a planned run's game assembled (data source, networks, players, streams)
    algorithm.py      one iteration of Algorithm 1 (alternating with any k, or simultaneous)
    game.py           the game's state (networks, optimizers, data, random stream) and its update rule
    schedules.py      learning rate and momentum schedules; optim.py: the released code's momentum SGD
    ema.py            the moving average of G's weights; joint_encoder.py: E trained alongside
    monitor.py        statistics, validation, progress grids, Figure-1 probes (what the run records)
    checkpoint.py     the training state (resumes exactly); resume.py: what a resumed run may change
    rundir.py         run directories and their JSON-lines files
    budget.py         whether a run fits its data and device; its CPU threads
"""

from advnets.train.algorithm import train_iteration
from advnets.train.build import build_game
from advnets.train.game import Game
from advnets.train.loop import TrainingInterrupted, TrainResult, train
from advnets.train.plan import TrainPlan, plan_training

__all__ = ["Game", "TrainPlan", "TrainResult", "TrainingInterrupted", "build_game", "plan_training", "train",
           "train_iteration"]
