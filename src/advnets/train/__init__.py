"""Training: Algorithm 1, its optimizers and schedules, checkpoints and run directories."""

from advnets.train.algorithm import Game, train_iteration
from advnets.train.loop import TrainingInterrupted, TrainResult, build_game, train

__all__ = ["Game", "TrainResult", "TrainingInterrupted", "build_game", "train", "train_iteration"]
