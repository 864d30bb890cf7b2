"""dsvae: the Disentangled Sequential Autoencoder (Li & Mandt, ICML 2018) in PyTorch.

>>> from dsvae import DSVAE, DSVAEConfig
>>> model = DSVAE(DSVAEConfig())
"""

from dsvae.config import DSVAEConfig
from dsvae.errors import DSVAEError
from dsvae.model import DSVAE, DSVAEOutput, Posterior

__version__ = "0.1.0"

__all__ = ["DSVAE", "DSVAEConfig", "DSVAEError", "DSVAEOutput", "Posterior", "__version__"]
