"""Run configs: the typed YAML loader, every section's schema, the run config itself, and secrets kept out of copies."""

from rlhf.config.run_config import Config, check_run_dir, config_yaml, load_config, write_run_config

__all__ = ["Config", "check_run_dir", "config_yaml", "load_config", "write_run_config"]
