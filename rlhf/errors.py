"""Errors a user can act on. The CLI prints their message on one line and exits with their code."""


class RLHFError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    exit_code = 1


class ConfigError(RLHFError):
    """A config that cannot be run: unknown key, wrong type, missing file, impossible value."""

    exit_code = 2

    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        where = f"config key '{key}'" if key else "config"
        super().__init__(f"{where}: {problem}")


class ModelNotAvailable(RLHFError):
    """A model that cannot be loaded here (no hub, nothing cached, not a directory)."""

    exit_code = 3


class DataError(RLHFError):
    """A prompt source or data file that cannot be read."""

    exit_code = 4


class LabelTooSoon(RLHFError):
    """A label for an item its labeler was shown less than `labeling.min_seconds` ago: nobody read it."""


class LabelerInactive(RLHFError):
    """A labeler an admin has deactivated: signed out, and nothing more of theirs is stored."""


class StoreDamaged(DataError):
    """A label store file that is damaged, or empty though rlhf never leaves one so: refused unread and unwritten."""
