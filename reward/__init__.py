"""The reward model: a backbone with a scalar head read at the response, its loss, normalisation and training."""
