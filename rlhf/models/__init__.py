"""Models: resolving and loading causal LMs, tokenizers, offline aliases, tiny test models, what memory options do to a model."""
