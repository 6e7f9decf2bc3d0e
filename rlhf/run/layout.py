"""The run directory's one owner: every path under runs/<name>/ and whether each stage's artifact is finished.

A stage is finished when the file it writes last exists (stages write it atomically after
everything else), so a crash mid-stage never reads as finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REWARD_HEAD = "reward_head.json"  # the reward model's normalisation, written after its weights
METRICS = "metrics.json"


@dataclass(frozen=True)
class RunLayout:
    """runs/<name>/ as DESIGN.md §3 lays it out; `root` need not exist yet."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def label_store(self) -> Path:
        """The SQLite label store, used unless labeling.database_url names another database."""
        return self.root / "labels.db"

    @property
    def backups(self) -> Path:
        """Where `rlhf store backup` writes copies of the SQLite label store unless given --out."""
        return self.root / "backups"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def generations(self) -> Path:
        return self.root / "generations.jsonl"

    @property
    def reward_model(self) -> Path:
        return self.root / "reward_model"

    @property
    def reward_checkpoints(self) -> Path:
        return self.root / "reward_model.checkpoints"

    @property
    def sft(self) -> Path:
        return self.root / "sft"

    @property
    def sft_checkpoints(self) -> Path:
        return self.root / "sft.checkpoints"

    @property
    def policy(self) -> Path:
        return self.root / "policy"

    @property
    def policy_checkpoints(self) -> Path:
        return self.root / "policy.checkpoints"

    @property
    def policy_samples(self) -> Path:
        """Sample responses PPO logged while training (trimmed to the checkpoint on resume)."""
        return self.root / "policy_samples.jsonl"

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    @property
    def eval_systems(self) -> Path:
        """Each evaluated system's samples with the key they were drawn under, written as each finishes
        (an interrupted evaluation resumes) and kept (a later round reuses the systems it shares)."""
        return self.eval / "systems"

    @property
    def report_files(self) -> dict[str, Path]:
        return {"report.md": self.root / "report.md", "report.html": self.root / "report.html"}

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    # -- is this stage finished? ---------------------------------------------------------------

    def has_label_store(self) -> bool:
        return self.label_store.is_file()

    def reward_done(self) -> bool:
        return (self.reward_model / REWARD_HEAD).is_file()

    def sft_done(self) -> bool:
        return (self.sft / METRICS).is_file()

    def policy_done(self) -> bool:
        return (self.policy / METRICS).is_file()

    def evaluation_done(self) -> bool:
        return (self.eval / METRICS).is_file()


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of an SQLite database file (absolute, so it names the same file from any folder)."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def is_model_dir(path: Path) -> bool:
    """Whether `path` holds a save_pretrained() checkpoint."""
    return (Path(path) / "config.json").is_file()
