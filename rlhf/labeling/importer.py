"""Import best-of-n labels into the label store: our own export format and OpenAI's label files.

Both importers are all or nothing: every record is read and checked (including against the store)
before anything is written, and the first problem is one `DataError` naming the file, the line (or
record) and the field. Importing the same file twice changes nothing: a query is keyed by its
`query_id` (or a hash of its text), a batch is reused when the same query, samples and policy are
stored, and each label carries a client token derived from its content, so it is stored once.
A write that fails half way (a full disk) can be finished by importing the file again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from tqdm.auto import tqdm

from rlhf.errors import DataError
from rlhf.labeling.label_files import fail as _fail
from rlhf.labeling.label_files import json_lines, json_records

_OPTIONAL_TEXT = ("query_id", "reference", "labeler", "policy", "split", "created_at")
_OPTIONAL_INT = ("round", "seed")
# What the store's columns hold (their String lengths; integers of 64 bits, SQLite's), checked here
# so that a record the store would refuse half way through a write is refused before it.
_MAX_LENGTH = {"query_id": 255, "labeler": 100, "policy": 255, "split": 10}
_INT_RANGE = (-(2**63), 2**63 - 1)


@dataclass
class Record:
    """One label to import, checked; `where` is "file, line N" for messages."""

    where: str
    samples: list[str]
    best: int
    query: Optional[str] = None
    query_id: Optional[str] = None
    reference: Optional[str] = None
    split: str = "train"
    labeler: str = "import"
    policy: str = "import"
    round: int = 0
    seed: int = 0
    settings: dict = field(default_factory=dict)
    shown_order: Optional[list[int]] = None
    seconds: Optional[float] = None
    batch_id: Optional[int] = None  # an existing batch, for lines without a query
    created_at: Optional[datetime] = None
    query_token_ids: Optional[list[int]] = None
    sample_token_ids: Optional[list[list[int]]] = None


def _sample_count(where: str, obj: dict, expected: Optional[int]) -> int:
    n = 0
    while f"sample{n}" in obj:
        n += 1
    if n < 2 and expected is None:
        _fail(where, f"sample{n}", "missing: a label needs at least sample0 and sample1")
    if expected is not None and n != expected:
        _fail(where, f"sample{min(n, expected)}", f"found {n} samples, but earlier lines have {expected}")
    return n


def _best(where: str, obj: dict, n: int) -> int:
    best = obj.get("best")
    if "best" not in obj:
        _fail(where, "best", "missing")
    if not isinstance(best, int) or isinstance(best, bool):
        _fail(where, "best", f"must be an integer, got {best!r}")
    if not 0 <= best < n:
        _fail(where, "best", f"{best} is out of range: there are {n} samples (0 to {n - 1})")
    return best


def _optional(where: str, obj: dict, n: Optional[int]) -> dict:
    """The optional fields present, type-checked (`n` None: the sample count is not known yet)."""
    out = {}
    for name in _OPTIONAL_TEXT:
        if obj.get(name) is not None:
            if not isinstance(obj[name], str) or (name != "reference" and not obj[name].strip()):
                _fail(where, name, f"must be a non-empty string, got {obj[name]!r}")
            if len(obj[name]) > _MAX_LENGTH.get(name, len(obj[name])):
                _fail(where, name, f"is {len(obj[name])} characters long; the store holds at most {_MAX_LENGTH[name]}")
            out[name] = obj[name]
    for name in _OPTIONAL_INT:
        if obj.get(name) is not None:
            _integer(where, obj, name)
            out[name] = obj[name]
    if obj.get("settings") is not None:
        if not isinstance(obj["settings"], dict):
            _fail(where, "settings", "must be a JSON object")
        out["settings"] = obj["settings"]
    order = obj.get("shown_order")
    if order is not None:
        ints = isinstance(order, list) and all(isinstance(o, int) and not isinstance(o, bool) for o in order)
        if not ints or (n is not None and sorted(order) != list(range(n))):
            _fail(where, "shown_order", f"must be an ordering of the samples' indices, got {order!r}")
        out["shown_order"] = order
    seconds = obj.get("seconds")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < 1e12:
            _fail(where, "seconds", f"must be a non-negative, finite number of seconds, got {seconds!r}")
        out["seconds"] = float(seconds)
    if "created_at" in out:
        try:
            moment = datetime.fromisoformat(out["created_at"])
        except ValueError:
            _fail(where, "created_at", f"must be an ISO date and time, got {obj['created_at']!r}")
        out["created_at"] = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return out


def _integer(where: str, obj: dict, name: str) -> int:
    value = obj[name]
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(where, name, f"must be an integer, got {value!r}")
    if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
        _fail(where, name, f"{value} is out of range (at most {_INT_RANGE[1]} in magnitude)")
    return value


def _generic_record(where: str, obj: dict, expected_n: Optional[int]) -> Record:
    if "query" not in obj and "batch_id" in obj:
        return _batch_reference(where, obj)
    if not isinstance(obj.get("query"), str):
        _fail(where, "query", "missing" if "query" not in obj else f"must be a string, got {obj['query']!r}")
    _check_query_text(where, obj["query"])
    n = _sample_count(where, obj, expected_n)
    samples = [obj[f"sample{i}"] for i in range(n)]
    for i, text in enumerate(samples):
        if not isinstance(text, str):
            _fail(where, f"sample{i}", f"must be a string, got {text!r}")
    return Record(where, samples, _best(where, obj, n), query=obj["query"], **_optional(where, obj, n))


def _check_query_text(where: str, query: str) -> None:
    # Samples of no prompt teach the reward model nothing, and all such lines would share one query id.
    if not query.strip():
        _fail(where, "query", "is empty: a label needs the prompt its samples continue")


def _batch_reference(where: str, obj: dict) -> Record:
    """A line naming a stored batch by id instead of carrying its query and samples."""
    batch_id = _integer(where, obj, "batch_id")
    _best(where, obj, 1 << 30)  # a missing or non-integer best; its range is checked against the batch
    extra = {k: v for k, v in obj.items() if k not in ("batch_id", "best") and not k.startswith("sample")}
    return Record(where, [], obj["best"], batch_id=batch_id, **_optional(where, extra, None))


# -- checking against the store -----------------------------------------------------------------


def _resolve(store, records: list[Record]) -> None:
    """Fill query ids; check referenced batches and that a known query id keeps its prompt."""
    prompts = {}
    for r in records:
        if r.batch_id is not None:
            batch = store.batch(r.batch_id)
            if batch is None:
                _fail(r.where, "batch_id", f"unknown batch id {r.batch_id}: the store has no such batch")
            r.samples, r.query_id = list(batch.samples), batch.query_id
            _best(r.where, {"best": r.best}, len(r.samples))
            if r.shown_order is not None and sorted(r.shown_order) != list(range(len(r.samples))):
                _fail(r.where, "shown_order", f"must be an ordering of 0..{len(r.samples) - 1}")
            continue
        r.query_id = r.query_id or "q-" + hashlib.sha256(r.query.encode("utf-8")).hexdigest()[:16]
        if r.query_id not in prompts:
            stored = store.query(r.query_id)
            prompts[r.query_id] = stored.prompt if stored is not None else r.query
        if prompts[r.query_id] != r.query:
            _fail(r.where, "query", f"query id {r.query_id!r} is already used for a different prompt")
    _one_label_per_labeler(store, records)


def _one_label_per_labeler(store, records: list[Record]) -> None:
    """A labeler labels a batch once (the store refuses a second label), so a file that gives one
    labeler two different choices for one batch - or differs from what the store holds - is refused
    before anything is written."""
    seen = {}
    for r in records:
        key = (r.batch_id or (r.query_id, r.policy, tuple(r.samples)), r.labeler)
        if key in seen and _client_token(seen[key]) != _client_token(r):
            _fail(r.where, "labeler", f"{r.labeler!r} already labels this batch on {seen[key].where}; "
                  "give each labeler's label of a batch once, or distinct labeler names")
        seen.setdefault(key, r)
        labeler = store.labeler(r.labeler)
        batch_id = r.batch_id or store.find_batch(r.query_id, r.policy, r.samples)
        if labeler is not None and batch_id is not None and _held_label_differs(store, batch_id, labeler.id, r):
            _fail(r.where, "labeler", f"{r.labeler!r} already has a different label for this batch in the store")


def _held_label_differs(store, batch_id: int, labeler_id: int, r: Record) -> bool:
    held = store.effective_labels_of(batch_id, labeler_id)
    return bool(held) and not _already_labeled(store, batch_id, labeler_id, r)


def _client_token(r: Record) -> str:
    """The same label (query, samples, policy, labeler, choice, ...) gives the same token: stored once.

    `created_at` and store-assigned ids are left out, so a re-export of imported labels matches too.
    """
    content = {k: v for k, v in asdict(r).items() if k not in ("where", "batch_id", "created_at")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    return "import:" + digest[:57]  # the column holds 64 characters


# -- writing ------------------------------------------------------------------------------------


def _already_labeled(store, batch_id: int, labeler_id: int, r: Record) -> bool:
    """The token is stored, or the labeler's effective label on the batch says the same (a native
    label exported and imported back into its own store)."""
    if store.label_for_token(_client_token(r)) is not None:
        return True
    return any(l.choice == r.best and l.shown_order == r.shown_order and not (l.skipped or l.flagged)
               for l in store.effective_labels_of(batch_id, labeler_id))


def _write(store, records: list[Record], task_name: str, progress: bool) -> int:
    stored = 0
    labelers, batches = {}, {}  # caches: thousands of lines name a few labelers and repeat batches
    for r in tqdm(records, desc="importing labels", unit="label", disable=not progress):
        key = (r.query_id, r.policy, tuple(r.samples))
        if r.batch_id is not None:
            batch_id = r.batch_id
        elif key in batches:
            batch_id = batches[key]
        else:
            store.add_queries([{"id": r.query_id, "task": task_name, "prompt": r.query, "reference": r.reference,
                                "split": r.split, "token_ids": r.query_token_ids}])
            batch_id = store.find_batch(r.query_id, r.policy, r.samples) or store.add_batch(
                r.query_id, r.samples, r.policy, r.round, r.settings, r.seed, r.sample_token_ids)
            batches[key] = batch_id
        if r.labeler not in labelers:
            labelers[r.labeler] = store.ensure_labeler(r.labeler).id
        if _already_labeled(store, batch_id, labelers[r.labeler], r):
            continue
        store.submit(labelers[r.labeler], batch_id, choice=r.best, shown_order=r.shown_order, seconds=r.seconds,
                     client_token=_client_token(r), created_at=r.created_at)
        stored += 1
    return stored


def read_best_of_4(path) -> list[Record]:
    """Every record of a best-of-n JSONL, checked on its own (no store needed); DataError at the first problem."""
    path = Path(path)
    records, n = [], None
    for where, obj in json_lines(path):
        records.append(_generic_record(where, obj, n))
        n = n or (len(records[-1].samples) or None)
    if not records:
        raise DataError(f"{path} holds no labels (it is empty): nothing was imported")
    return records


def check_for_new_store(records: list[Record]) -> None:
    """Check records against an empty store, the one a run without a label store yet would create,
    so a file that cannot be imported is refused before that store is created."""
    import tempfile

    from rlhf.labeling.store import LabelStore, sqlite_url

    with tempfile.TemporaryDirectory(prefix="rlhf-import-check-") as folder:
        empty = LabelStore(sqlite_url(Path(folder) / "check.db"))
        try:
            _resolve(empty, records)
        finally:
            empty.engine.dispose()


def store_labels(store, records: list[Record], task_name: str, *, progress: bool = True) -> int:
    """Check read records against the store, then write them; returns how many labels were new."""
    _resolve(store, records)
    return _write(store, records, task_name, progress)


def import_best_of_4(store, path, task_name: str, *, progress: bool = True) -> int:
    """Import a best-of-n JSONL (the format `label_export` writes); returns how many labels were new."""
    return store_labels(store, read_best_of_4(path), task_name, progress=progress)


# -- OpenAI's label files -----------------------------------------------------------------------


def load_gpt2_tokenizer(tokenizer_dir):
    """GPT-2's BPE from a folder: a saved Hugging Face tokenizer, or just vocab.json + merges.txt.

    `GPT2Tokenizer(vocab_file=..., merges_file=...)` builds an EMPTY tokenizer in transformers 5,
    so the bare files are read here and passed as `vocab=dict, merges=list`.
    """
    from transformers import AutoTokenizer, GPT2Tokenizer

    folder = Path(tokenizer_dir)
    if (folder / "tokenizer.json").is_file() or (folder / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(str(folder))
    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    if not (vocab_path.is_file() and merges_path.is_file()):
        raise DataError(f"{folder} is not a GPT-2 tokenizer folder: it needs vocab.json and merges.txt")
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    lines = merges_path.read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split(" ")) for line in lines if line.strip() and not line.startswith("#version")]
    return GPT2Tokenizer(vocab=vocab, merges=merges)


def _token_ids(where: str, obj: dict, name: str) -> list[int]:
    ids = obj.get(name)
    if name not in obj:
        _fail(where, name, "missing")
    if not isinstance(ids, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
        _fail(where, name, "must be a list of integer token ids")
    return ids


def _openai_record(where: str, obj: dict, n: Optional[int], tokenizer, labeler: str, policy: str) -> Record:
    n = _sample_count(where, obj, n)
    ids = {name: _token_ids(where, obj, name) for name in ["query"] + [f"sample{i}" for i in range(n)]}
    best = _best(where, obj, n)
    # OpenAI padded with ids past the vocabulary (50259): they are not text.
    kept = {name: [t for t in tokens if 0 <= t < len(tokenizer)] for name, tokens in ids.items()}
    text = {name: tokenizer.decode(tokens, clean_up_tokenization_spaces=False) for name, tokens in kept.items()}
    _check_query_text(where, text["query"])  # a query of padding ids only
    samples = [f"sample{i}" for i in range(n)]
    return Record(where, [text[s] for s in samples], best, query=text["query"], labeler=labeler, policy=policy,
                  query_token_ids=kept["query"], sample_token_ids=[kept[s] for s in samples])


def import_openai_labels(store, path, tokenizer_dir, task_name: str, *, labeler: str = "openai",
                         policy: str = "openai-gpt2", progress: bool = True) -> int:
    """Import a label file of openai/lm-human-preferences (e.g. offline_5k.json: a JSON list, or JSONL,
    of records with token-id lists `query`, `sample0`..`sample3` and an int `best`), decoded with
    GPT-2's tokenizer. Returns how many labels were new."""
    records = read_openai_labels(path, tokenizer_dir, labeler=labeler, policy=policy)
    return store_labels(store, records, task_name, progress=progress)


def read_openai_labels(path, tokenizer_dir, *, labeler: str = "openai", policy: str = "openai-gpt2") -> list[Record]:
    """Every record of an lm-human-preferences label file, decoded and checked (no store needed)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such label file")
    if not Path(tokenizer_dir).is_dir():
        raise DataError(f"--tokenizer {tokenizer_dir} is not a folder: give the GPT-2 tokenizer folder (vocab.json and merges.txt)")
    tokenizer = load_gpt2_tokenizer(tokenizer_dir)
    records, n = [], None
    for where, obj in json_records(path):
        records.append(_openai_record(where, obj, n, tokenizer, labeler, policy))
        n = len(records[-1].samples)
    if not records:
        raise DataError(f"{path} holds no labels (it is empty): nothing was imported")
    return records
