"""Fine-tuning language models from human preferences (Ziegler et al. 2019, arXiv 1909.08593)."""

__version__ = "0.1.0"
