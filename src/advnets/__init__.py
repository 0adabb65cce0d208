"""advnets: Generative Adversarial Nets (Goodfellow et al., NIPS 2014), faithful and fast."""

__version__ = "0.2.0.dev0"

from advnets.errors import AdvnetsError  # noqa: E402

__all__ = ["AdvnetsError", "__version__"]
