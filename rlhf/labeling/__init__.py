"""Labeling: the label store (the only module that talks SQL), batches for labelers, simulated labelers, export, import, statistics."""
