"""advnets: Generative Adversarial Nets (Goodfellow et al., NIPS 2014), faithful and fast."""

__version__ = "0.2.0.dev0"

from advnets.errors import AdvnetsError  # noqa: E402
from advnets.plugins import (NetworkRequest, register_dataset, register_discriminator,  # noqa: E402
                             register_features, register_generator)

__all__ = ["AdvnetsError", "NetworkRequest", "__version__", "register_dataset", "register_discriminator",
           "register_features", "register_generator"]
