"""`python -m rlhf.cli`: the `rlhf` command (accelerate launch and the crash tests start it so)."""

from rlhf.cli.main import main

main()
