"""The run directory: its layout (every path and which stages are finished), atomic files, checkpoints."""
