"""Metrics: every number advnets reports, each computed here and named by its protocol.

Registered (advnets evaluate --metric NAME; registry.py, spec.py):
    parzen.py      Table 1's Parzen-window protocol, its critique baselines, the validation score
    modes.py       modes captured, high-quality samples and reverse KL on the 2-D mixtures
    classes.py     a conditional model's samples labelled by the shipped classifier
    inpainting.py  completions of test images: the class they keep and how much they vary
    inference.py   how well an inference network E inverts G
    optimal_d.py   Proposition 1 on a trained 1-D game: D trained to convergence against D*

Measured during training (advnets.train.monitor):
    diversity.py   sample diversity and the mode-collapse rule
    probe_1d.py    the 1-D game on a grid: p_g, D against D*, JSD (Figure 1)

Building blocks: kmeans.py, nearest.py (exact nearest neighbours), summary.py (mean +- SE over seeds).
"""
