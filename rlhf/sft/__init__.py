"""The supervised stage: the paper's supervised baseline with TRL's SFTTrainer."""
