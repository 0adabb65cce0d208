"""Training: Algorithm 1, the state it updates, and the run it writes.

    loop.py           train(): the loop, one readable function
    algorithm.py      one iteration of Algorithm 1 (alternating with any k, or simultaneous)
    game.py           the game's state (networks, optimizers, data, random stream) and its update rule
    schedules.py      learning rate and momentum schedules; optim.py: the released code's momentum SGD
    ema.py            the moving average of G's weights; joint_encoder.py: E trained alongside
    monitor.py        statistics, validation, progress grids, Figure-1 probes (what the run records)
    checkpoint.py     the training state (resumes exactly); resume.py: what a resumed run may change
    rundir.py         run directories and their JSON-lines files
"""

from advnets.train.algorithm import train_iteration
from advnets.train.game import Game, build_game
from advnets.train.loop import TrainingInterrupted, TrainResult, train

__all__ = ["Game", "TrainResult", "TrainingInterrupted", "build_game", "train", "train_iteration"]
