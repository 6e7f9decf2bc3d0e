"""The policy stage: PPO through TRL with the paper's reward, KL control, rollout, advantages and value head."""
