"""Several seeds of one config trained side by side in one process, as one stacked model.

K members share every kernel (their weights stacked along a leading member dimension, the forward passes run
once under torch.func.vmap) and nothing else: each draws its minibatches, noise and dropout masks from its own
seed's streams, takes its own optimizer steps, and writes its own ordinary run folder.

    draws.py      each member's random numbers from its own streams, replayed inside the vmap
    stack.py      K networks as stacked leaves; each member's module a view of its slices
    optim.py      momentum SGD and Adam on stacked leaves, each member's update as alone
    iteration.py  Algorithm 1's iteration for K members at once (the schedules of advnets.train.algorithm)
    run.py        train_members: a Session per member (advnets.train.loop), iterate, finish; train_seeds
    folder.py     a members folder: members.json and one run folder s<seed> per member
"""

__all__ = ["MemberOutcome", "check_members", "check_members_fit", "check_same_config", "check_stackable",
           "train_members", "train_seeds"]


def __getattr__(name: str):
    """The training API, imported (with PyTorch) when first used: the command line reads members.json without it."""
    if name in __all__:
        from advnets.members import run

        return getattr(run, name)
    raise AttributeError(f"module 'advnets.members' has no attribute {name!r}")
