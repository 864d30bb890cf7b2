"""The DSA model: encoder, prior, decoder and the whole model."""

from dsvae.model.dsvae import DSVAE, DSVAEOutput
from dsvae.model.encoder import Posterior
from dsvae.model.prior import ImprovedPrior, LSTMPrior

__all__ = ["DSVAE", "DSVAEOutput", "ImprovedPrior", "LSTMPrior", "Posterior"]
