"""Semi-supervised learning from a GAN (the paper's future work 4), on MNIST with few labels.

Protocol (``docs/protocols.md``): `per_class` labelled images per class (10: 100 labels) drawn at
random from the training split train[0:50000], the rest of that split unlabelled; test error on the
10,000 test images; repeated over several label draws, reported as mean +- standard error.

Methods, each a function of (data, labelled indices, draw) -> test error:
    pixels       logistic regression on raw pixels (no GAN: the baseline)
    d-features   the same classifier on a trained D's hidden layers
    e-features   the same classifier on an inference network's hidden layer (`advnets infer`)
    kplus1       a GAN whose D is a (K+1)-class classifier trained with the labels (Salimans et al. 2016)
"""
