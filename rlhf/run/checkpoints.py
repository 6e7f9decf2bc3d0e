"""Training checkpoints: where a training stage continues from, and which checkpoints are whole."""

from __future__ import annotations

from pathlib import Path

from rlhf.errors import RLHFError


def resume_point(finished: bool, final: Path, checkpoints: Path, latest, resume: bool, overwrite: bool, log):
    """The checkpoint a training stage continues from (None: from the start), after its refusals.

    A `finished` stage (RunLayout says so) needs --overwrite; an unfinished run (`latest`, its newest
    checkpoint) needs --resume or --overwrite; --overwrite without --resume deletes the old checkpoints.
    """
    import shutil

    if finished and not overwrite:
        raise RLHFError(f"{final} is already trained; pass --overwrite to train it again")
    if latest and not resume and not overwrite:
        raise RLHFError(f"{checkpoints} holds a checkpoint of an unfinished run ({Path(latest).name}): "
                        "pass --resume to continue it or --overwrite to start again")
    if overwrite and not resume:
        shutil.rmtree(checkpoints, ignore_errors=True)
        return None
    if resume and not latest:
        log(f"nothing to resume in {checkpoints}: starting from the base model")
    return latest


def last_complete_checkpoint(root: Path):
    """The newest checkpoint a transformers Trainer finished writing, as a string; None when there is none.

    The Trainer writes a checkpoint in place and its trainer_state.json last: a process killed
    while saving leaves a newer directory without it (or with it cut short), which cannot be resumed.
    """
    import json

    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    if not root.is_dir():
        return None
    steps = []
    for path in root.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        try:
            steps.append((int(path.name.rsplit("-", 1)[1]), path))
        except ValueError:
            continue
    for _, path in sorted(steps, reverse=True):
        try:
            json.loads((path / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        return str(path)
    return None
