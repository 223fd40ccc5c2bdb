"""logitlint: finds loss and probability misuse in PyTorch code and fixes it.

The checker never imports torch; ``logitlint.runtime`` (the opt-in runtime guard) does.
"""

__version__ = "0.1.0"
