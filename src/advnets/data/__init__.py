"""Data: every data set behind one registry (``registry.get(name)``), minibatch sources for training,
and the masks of the inpainting models.

    registry.py   the data sets by name (spec.py: what is known about each)
    mnist.py      MNIST and Fashion-MNIST (IDX files: find, download, verify, split); idx.py: the format
    tfd.py        the Toronto Face Database (the user's own MATLAB file)
    toy.py        synthetic Gaussian mixtures: the 1-D data of Figure 1, the 2-D ring and grid
    sources.py    shuffled minibatches on the training device, resumable exactly
    masks.py      which pixels an inpainting model must fill in
"""
