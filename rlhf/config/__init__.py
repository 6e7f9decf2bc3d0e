"""Run configs: the typed YAML loader, every section's schema, the run config itself, and secrets kept out of copies."""

from rlhf.config.run_config import Config, config_yaml, load_config, write_run_config

__all__ = ["Config", "config_yaml", "load_config", "write_run_config"]
