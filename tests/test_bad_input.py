"""Bad input, table-driven: malformed configs, prompt files, label files, command-line arguments,
damaged model and reward-model folders, outputs that cannot be written, and endless inputs.

Each case must end with ONE clear message (naming the problem and what to do), a non-zero exit
code, no traceback, and nothing written: the files under the working folder (the test's tmp dir,
where `runs/` would go) are the same after the call as before it - no run directory, no label
store, no half-written artifact. argparse's own errors print a usage line before their one error
line, which is allowed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

import pytest
from bad_input_fixtures import (
    CONFIG_ERROR,
    DATA_ERROR,
    GOOD,
    IMPORT,
    MODEL,
    MODEL_ERROR,
    RLHF_ERROR,
    SAMPLE,
    SQLITE_SIDE_FILES,
    USAGE,
    as_pulled_alias,
    cfg,
    cut_in_half,
    drop,
    foreign_weights,
    jsonl,
    needs_dev_zero,
    put,
    read_only,
    the_error_line,
)


@dataclass
class Case:
    id: str
    argv: list[str]
    expect: Union[str, list[str]]  # substrings of the one error line
    code: int
    files: dict = field(default_factory=dict)  # relative path -> text, bytes, or None for an empty folder
    setup: Optional[Callable] = None  # (cli, monkeypatch) -> None, run before the "before" snapshot
    damage: Optional[Callable] = None  # (folder) -> None: damages `target`, a copy of the `source` fixture's model
    source: str = "tiny_gpt2"
    target: str = "model"


GENERATE = ["generate", "--config", "c.yaml", "--quiet"]


def with_config(text: str = None, **extra) -> dict:
    return {"c.yaml": text if text is not None else cfg(), **extra}


def _import_good_labels(cli, monkeypatch):
    Path("good.jsonl").write_text(jsonl(GOOD), encoding="utf-8")
    code, _, err = cli("import", "--config", "c.yaml", "good.jsonl")
    assert code == 0, err


def _offline(cli, monkeypatch):
    import huggingface_hub.constants

    import rlhf.models.loading

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(rlhf.models.loading, "use_offline_mode_if_unreachable", lambda: False)


def _short_password(cli, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))


HEAD = {"gain": 1.5, "bias": 0.25, "pooling": "last"}
HEAD_FILE = "reward_head.json"
GEN_MODEL = ["generate", "--model", "model", "--prompt", "Hi"]
SCORE = ["score", "--reward-model", "model", "--text", "Hi"]
REDO = "save or train the model again, or restore the folder from a backup"
RETRAIN = "train it again with `rlhf train-reward --overwrite`"
LONG_LINE = 5_000_000  # bytes: five times the readers' limit


CASES = [
    # -- config files ---------------------------------------------------------------------------
    Case("yaml-syntax-error", SAMPLE, ["c.yaml is not valid YAML at line 3, column 9: mapping values are not allowed"],
         CONFIG_ERROR, with_config("name: bad\nseed: 1\nmodel: x: y\n")),
    Case("yaml-not-a-mapping", SAMPLE, "c.yaml must hold a mapping of settings, not list", CONFIG_ERROR,
         with_config("- a\n- b\n")),
    Case("config-empty-file", SAMPLE, ["c.yaml is empty", "leave out --config"], CONFIG_ERROR, with_config("")),
    Case("config-only-comments", SAMPLE, "c.yaml is empty", CONFIG_ERROR, with_config("# all defaults?\n")),
    Case("config-not-utf8", SAMPLE, "c.yaml is not UTF-8 text", CONFIG_ERROR, with_config(b"name: caf\xe9\n")),
    Case("config-is-a-folder", ["sample", "--config", "conf"], ["conf is a folder, not a config file"], CONFIG_ERROR,
         {"conf/a.yaml": "name: x\n"}),
    Case("config-file-missing", ["sample", "--config", "nope.yaml"], "no such config file: nope.yaml", CONFIG_ERROR),
    Case("unknown-top-level-key", SAMPLE, "config key 'nmae': unknown key (did you mean 'name'?)", CONFIG_ERROR,
         with_config(cfg(nmae="x"))),
    Case("unknown-key-lists-the-known-ones", SAMPLE, ["config key 'zzz': unknown key; known keys: name, output_dir"],
         CONFIG_ERROR, with_config(cfg(zzz="1"))),
    Case("unknown-nested-key", SAMPLE, "config key 'generation.temprature': unknown key (did you mean 'temperature'?)",
         CONFIG_ERROR, with_config(cfg(generation="{temprature: 1.0}"))),
    Case("wrong-type", SAMPLE, "config key 'seed': expected int, got 'abc'", CONFIG_ERROR, with_config(cfg(seed="abc"))),
    Case("bool-for-int", SAMPLE, "config key 'labeling.num_queries': expected int, got True", CONFIG_ERROR,
         with_config(cfg(labeling="{num_queries: true}"))),
    Case("section-not-a-mapping", SAMPLE, "config key 'policy': expected a mapping of settings, got 5", CONFIG_ERROR,
         with_config(cfg(policy="5"))),
    Case("negative-batch-size", SAMPLE, "config key 'policy.batch_size': must be positive, got -4", CONFIG_ERROR,
         with_config(cfg(policy="{batch_size: -4}"))),
    Case("bad-literal", SAMPLE, "config key 'reward.loss': expected one of 'best_of_n', 'pairwise', got 'hinge'",
         CONFIG_ERROR, with_config(cfg(reward="{loss: hinge}"))),
    Case("run-name-with-a-slash", SAMPLE, "config key 'name': must be a plain folder name, got 'a/b'", CONFIG_ERROR,
         with_config(cfg(name="a/b"))),
    Case("task-name-unknown", SAMPLE, ["config key 'task': unknown task 'poetry'", "use one of", "sentiment"],
         CONFIG_ERROR, with_config(cfg(task="poetry"))),
    Case("task-yaml-missing", SAMPLE, ["config key 'task': no such task file: tasks/mine.yaml"], CONFIG_ERROR,
         with_config(cfg(task="tasks/mine.yaml"))),
    Case("task-wrong-type", SAMPLE, "config key 'task': expected a task name, a task YAML path or a mapping",
         CONFIG_ERROR, with_config(cfg(task="[1, 2]"))),
    Case("task-unknown-key", SAMPLE, "config key 'task.tempreature': unknown key (did you mean 'temperature'?)",
         CONFIG_ERROR, with_config(cfg(task="{name: sentiment, tempreature: 1.0}"))),
    Case("task-template-not-a-format-string", SAMPLE, "config key 'task.query_template': is not a valid format string",
         CONFIG_ERROR, with_config(cfg(task="{name: sentiment, query_template: 'Continue {}'}"))),
    Case("query-plus-response-beyond-context", SAMPLE,
         ["config key 'task.response_length'", "= 2200 tokens exceeds the model's context of 1024 tokens"], CONFIG_ERROR,
         with_config(cfg(task="{name: sentiment, query_length: 200, response_length: 2000}"))),
    Case("demo-set-unknown", SAMPLE, "config key 'prompts.path': the demo set is one of stories, documents, got 'poems'",
         CONFIG_ERROR, with_config(cfg(prompts="{kind: demo, path: poems}"))),
    Case("evaluation-judge-unknown", SAMPLE, ["config key 'evaluation.judges': unknown judge 'gpt4'",
                                              "use simulated and/or reward_model"],
         CONFIG_ERROR, with_config(cfg(evaluation="{judges: [gpt4]}"))),
    Case("labeling-simulator-unknown", SAMPLE, ["config key 'labeling.simulator': unknown simulated labeler 'robot'",
                                                "use sentiment, descriptiveness or rouge"],
         CONFIG_ERROR, with_config(cfg(labeling="{simulator: robot}"))),
    Case("mini-batches-not-dividing", SAMPLE, "config key 'policy.mini_batches': must divide batch_size=16, got 3",
         CONFIG_ERROR, with_config(cfg(policy="{batch_size: 16, mini_batches: 3}"))),
    Case("reward-labels-missing", SAMPLE, "config key 'reward.labels': no such file: nope.jsonl", CONFIG_ERROR,
         with_config(cfg(reward="{labels: nope.jsonl}"))),
    Case("override-wrong-type", SAMPLE + ["--labeling.port", "http"], "config key 'labeling.port': expected int, got 'http'",
         CONFIG_ERROR, with_config()),
    Case("override-port-out-of-range", SAMPLE + ["--labeling.port=70000"], "must be a TCP port (1-65535), got 70000",
         CONFIG_ERROR, with_config()),
    Case("override-misspelt-section", SAMPLE + ["--labelling.num_queries", "3"],
         "config key 'labelling': unknown key (did you mean 'labeling'?)", CONFIG_ERROR, with_config()),
    Case("stray-argument", SAMPLE + ["stray"], "unexpected argument 'stray'; overrides look like --section.key value",
         CONFIG_ERROR, with_config()),
    # -- prompt files (`rlhf generate --config` loads the model, then the prompts) ------------------
    Case("prompts-jsonl-broken-line", GENERATE, ["prompts.jsonl gave no usable prompts (skipped 1 not valid JSON)",
                                                 "one JSON object per line"],
         DATA_ERROR, with_config(cfg(prompts="{path: prompts.jsonl}"), **{"prompts.jsonl": "{not json\n"})),
    Case("prompts-jsonl-missing-field", GENERATE, ["skipped 2 no field 'text'", "prompts.fields"], DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.jsonl}"),
                     **{"prompts.jsonl": jsonl({"prompt": "Once upon a time."}, {"prompt": "It rained."})})),
    Case("prompts-jsonl-not-objects", GENERATE, "skipped 1 not a JSON object", DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.jsonl}"), **{"prompts.jsonl": "[1, 2]\n"})),
    Case("prompts-csv-missing-column", GENERATE, ["no field 'text'", "--prompts.fields.text COLUMN"], DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.csv}"), **{"prompts.csv": "title,body\nA,Some text here.\n"})),
    Case("prompts-csv-empty", GENERATE, "cannot read csv file prompts.csv", DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.csv}"), **{"prompts.csv": ""})),
    Case("prompts-text-empty", GENERATE, ["prompts.txt holds no usable text", "sentences ending in . ! or ?"],
         DATA_ERROR, with_config(cfg(prompts="{path: prompts.txt}"), **{"prompts.txt": ""})),
    Case("prompts-binary-file", GENERATE, ["skipped 2 wrong encoding", "set prompts.encoding"], DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.txt}"), **{"prompts.txt": b"\x89PNG\r\n\x1a\n\x00\xff\xfe\xfd"})),
    Case("prompts-folder-without-text-files", GENERATE,
         ["config key 'prompts.path': the folder corpus holds no prompt files (.txt, .jsonl"], CONFIG_ERROR,
         with_config(cfg(prompts="{path: corpus}"), **{"corpus/README.md": "# notes\n", "corpus/LICENSE": "MIT\n"})),
    Case("prompts-folder-mixing-types", GENERATE, ["mixes file types (jsonl, text): set prompts.kind"], DATA_ERROR,
         with_config(cfg(prompts="{path: corpus}"), **{"corpus/a.txt": "A tale.\n", "corpus/b.jsonl": jsonl({"text": "B."})})),
    Case("prompts-file-missing", GENERATE, "config key 'prompts.path': no such file or folder: missing.jsonl",
         CONFIG_ERROR, with_config(cfg(prompts="{path: missing.jsonl}"))),
    Case("prompts-all-longer-than-the-query", GENERATE,
         ["no usable queries in the train split", "longer than task.query_length=200"], DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.jsonl, eval_fraction: 0}", generation="{split: train}"),
                     **{"prompts.jsonl": jsonl({"text": "word " * 600})})),
    Case("prompts-encoding-unknown", GENERATE, "config key 'prompts.encoding': unknown text encoding 'klingon'",
         CONFIG_ERROR, with_config(cfg(prompts="{path: prompts.txt, encoding: klingon}"), **{"prompts.txt": "A tale.\n"})),
    Case("prompts-encoding-without-byte-line-breaks", GENERATE,
         ["config key 'prompts.encoding': utf-16 does not write a line break as the byte \\n", "convert the file to UTF-8"],
         CONFIG_ERROR, with_config(cfg(prompts="{path: prompts.txt, encoding: utf-16}"), **{"prompts.txt": "A tale.\n"})),
    # -- label files (`rlhf import`) ----------------------------------------------------------------
    Case("labels-broken-json-line", IMPORT, ["labels.jsonl, line 2: not valid JSON", "nothing was imported"],
         DATA_ERROR, with_config(**{"labels.jsonl": jsonl(GOOD, '{"query": "Q", "best": ')})),
    Case("labels-choice-out-of-range", IMPORT, "labels.jsonl, line 1, field 'best': 7 is out of range: there are 4 samples",
         DATA_ERROR, with_config(**{"labels.jsonl": jsonl({**GOOD, "best": 7})})),
    Case("labels-missing-samples", IMPORT, "line 1, field 'sample0': missing: a label needs at least sample0 and sample1",
         DATA_ERROR, with_config(**{"labels.jsonl": jsonl({"query": "Q.", "best": 0})})),
    Case("labels-wrong-number-of-samples", IMPORT, "line 2, field 'sample3': found 3 samples, but earlier lines have 4",
         DATA_ERROR, with_config(**{"labels.jsonl": jsonl(GOOD, {k: v for k, v in GOOD.items() if k != "sample3"})})),
    Case("labels-unknown-batch-without-a-store", IMPORT, "line 1, field 'batch_id': unknown batch id 99", DATA_ERROR,
         with_config(**{"labels.jsonl": jsonl({"batch_id": 99, "best": 0})})),
    Case("labels-unknown-batch-in-an-existing-store", IMPORT, "line 2, field 'batch_id': unknown batch id 99", DATA_ERROR,
         with_config(**{"labels.jsonl": jsonl({**GOOD, "query": "Another."}, {"batch_id": 99, "best": 0})}),
         setup=_import_good_labels),
    Case("labels-query-id-reused", IMPORT, "line 2, field 'query': query id 'q1' is already used for a different prompt",
         DATA_ERROR, with_config(**{"labels.jsonl": jsonl({**GOOD, "query_id": "q1"}, {**GOOD, "query_id": "q1", "query": "Other."})})),
    Case("labels-empty-file", IMPORT, "labels.jsonl holds no labels (it is empty)", DATA_ERROR,
         with_config(**{"labels.jsonl": ""})),
    Case("labels-not-utf8", IMPORT, "labels.jsonl, line 1: not valid UTF-8 text", DATA_ERROR,
         with_config(**{"labels.jsonl": json.dumps(GOOD).replace("Once", "Caf\u00e9").encode("latin-1")})),
    Case("labels-lone-surrogate", IMPORT, "line 1: holds '\\ud800', an escape that is not a Unicode character",
         DATA_ERROR, with_config(**{"labels.jsonl": json.dumps({**GOOD, "query": "\ud800"}) + "\n"})),
    Case("labels-round-out-of-range", IMPORT, f"line 1, field 'round': {2**70} is out of range", DATA_ERROR,
         with_config(**{"labels.jsonl": jsonl({**GOOD, "round": 2**70})})),
    Case("labels-empty-query", IMPORT, ["labels.jsonl, line 2, field 'query': is empty", "nothing was imported"],
         DATA_ERROR, with_config(**{"labels.jsonl": jsonl(GOOD, {**GOOD, "query": ""})})),
    Case("labels-file-missing", ["import", "--config", "c.yaml", "nope.jsonl"], "nope.jsonl: no such label file",
         DATA_ERROR, with_config()),
    Case("labels-openai-without-tokenizer", ["import", "--config", "c.yaml", "labels.json", "--format", "openai"],
         "--format openai needs --tokenizer", RLHF_ERROR, with_config(**{"labels.json": "[]"})),
    Case("labels-openai-tokenizer-not-a-folder",
         ["import", "--config", "c.yaml", "labels.json", "--format", "openai", "--tokenizer", "gpt2-tok"],
         "--tokenizer gpt2-tok is not a folder", DATA_ERROR, with_config(**{"labels.json": "[]"})),
    Case("labels-openai-tokenizer-folder-empty",
         ["import", "--config", "c.yaml", "labels.json", "--format", "openai", "--tokenizer", "tok"],
         "tok is not a GPT-2 tokenizer folder: it needs vocab.json and merges.txt", DATA_ERROR,
         with_config(**{"labels.json": "[]", "tok": None})),
    Case("labels-format-unknown", IMPORT + ["--format", "csv"], "argument --format: invalid choice: 'csv'", USAGE,
         with_config(**{"labels.jsonl": jsonl(GOOD)})),
    # -- command-line arguments ---------------------------------------------------------------------
    Case("unknown-subcommand", ["frobnicate"], "invalid choice: 'frobnicate'", USAGE),
    Case("no-subcommand", [], "the following arguments are required: COMMAND", USAGE),
    Case("missing-config", ["sample"], "the following arguments are required: --config", USAGE),
    Case("run-zero-rounds", ["run", "--config", "c.yaml", "--rounds", "0"], "--rounds must be at least 1, got 0",
         RLHF_ERROR, with_config()),
    Case("run-with-prompts-that-give-nothing", ["run", "--config", "c.yaml"],
         "prompts.jsonl gave no usable prompts (skipped 1 not valid JSON)", DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.jsonl}"), **{"prompts.jsonl": "{not json\n"})),
    Case("run-rounds-not-a-number", ["run", "--config", "c.yaml", "--rounds", "two"], "invalid int value: 'two'",
         USAGE, with_config()),
    Case("report-on-a-folder-that-is-no-run", ["report", "notarun"],
         ["notarun is not a run directory (has no config.yaml)", "give runs/<name>"], RLHF_ERROR,
         {"notarun/notes.txt": "hello\n"}),
    Case("report-on-a-missing-run", ["report", "runs/ghost"], "runs/ghost is not a run directory (does not exist)",
         RLHF_ERROR),
    Case("report-negative-samples", ["report", "runs/ghost", "--samples", "-1"], "--samples must be 0 or more",
         RLHF_ERROR),
    Case("score-nothing", ["score", "--reward-model", "rm"], "nothing to score: give --text TEXT (repeatable) or --jsonl FILE",
         RLHF_ERROR),
    Case("score-jsonl-missing", ["score", "--reward-model", "rm", "--jsonl", "nope.jsonl"], "--jsonl nope.jsonl: no such file",
         DATA_ERROR),
    Case("score-jsonl-without-response", ["score", "--reward-model", "rm", "--jsonl", "x.jsonl"],
         "x.jsonl, line 1: expected a JSON object with `response`", DATA_ERROR, {"x.jsonl": jsonl({"query": "Q"})}),
    Case("score-without-a-reward-model", ["score", "--reward-model", "rm", "--text", "Hi", "--output", "out.jsonl"],
         "rm holds no reward model (no config.json): train one with `rlhf train-reward`", RLHF_ERROR),
    Case("train-policy-without-a-reward-model", ["train-policy", "--config", "c.yaml"],
         ["no reward model at runs/bad/reward_model", "train one with `rlhf train-reward"], RLHF_ERROR, with_config()),
    Case("train-policy-reward-folder-empty", ["train-policy", "--config", "c.yaml", "--reward-model", "rm"],
         "config key 'policy.reward_model': rm holds no reward model (no config.json)", CONFIG_ERROR,
         with_config(rm=None)),
    Case("evaluate-nothing-to-compare", ["evaluate", "--config", "c.yaml"],
         ["nothing to compare with zero-shot", "train one with `rlhf train-policy`"], RLHF_ERROR, with_config()),
    Case("evaluate-human-nothing-to-compare", ["evaluate", "--config", "c.yaml", "--human"],
         "nothing to compare with zero-shot", RLHF_ERROR, with_config()),
    Case("evaluate-policy-missing", ["evaluate", "--config", "c.yaml", "--policy", "nopolicy"],
         "evaluation.policy nopolicy holds no model (no config.json)", RLHF_ERROR, with_config()),
    Case("model-folder-without-config-json", ["generate", "--model", "emptymodel", "--prompt", "Hi"],
         ["emptymodel is a directory but holds no model (no config.json)", "save_pretrained() folder"], MODEL_ERROR,
         {"emptymodel/weights.bin": "x"}),
    Case("model-path-missing", ["generate", "--model", "./nomodel", "--prompt", "Hi"],
         ["./nomodel is not a model directory (it does not exist)", "rlhf models list"], MODEL_ERROR),
    Case("model-gpt2-offline", ["generate", "--model", "gpt2", "--prompt", "Hi"],
         ["cannot load 'gpt2': the model hub is unreachable", "Use --model smollm2-135m"], MODEL_ERROR, setup=_offline),
    Case("models-pull-unknown-alias", ["models", "pull", "llama-70b"], "unknown model alias 'llama-70b': known aliases are",
         MODEL_ERROR),
    Case("label-without-a-store", ["label", "--config", "c.yaml", "--simulate", "sentiment"],
         ["run 'bad' has no label store yet", "run `rlhf sample --config c.yaml` first"], RLHF_ERROR, with_config()),
    Case("label-simulator-unknown", ["label", "--config", "c.yaml", "--simulate", "robot"],
         "argument --simulate: invalid choice: 'robot'", USAGE, with_config()),
    Case("export-without-a-store", ["export", "--config", "c.yaml"], "run 'bad' has no label store yet", RLHF_ERROR,
         with_config()),
    Case("train-reward-without-labels", ["train-reward", "--config", "c.yaml"],
         ["run 'bad' has no label store yet", "or pass --labels FILE"], RLHF_ERROR, with_config()),
    Case("train-reward-labels-missing", ["train-reward", "--config", "c.yaml", "--labels", "nope.jsonl"],
         "config key 'reward.labels': no such file: nope.jsonl", CONFIG_ERROR, with_config()),
    Case("labelers-add-short-password", ["labelers", "add", "bob", "--password-stdin", "--config", "c.yaml"],
         "a password needs at least 8 characters; nothing was changed", RLHF_ERROR, with_config(), setup=_short_password),
    Case("sft-optimizer-unknown", ["sft", "--config", "c.yaml"],
         ["config key 'sft.optim': unknown optimizer 'sgd_9bit'", "adamw_torch"], CONFIG_ERROR,
         with_config(cfg(sft="{optim: sgd_9bit}"))),
    Case("sft-two-precisions", ["sft", "--config", "c.yaml", "--sft.bf16", "true", "--sft.fp16", "true"],
         "config key 'sft.fp16': bf16 and fp16 are both on: pick one mixed precision", CONFIG_ERROR, with_config()),
    Case("sft-without-reference-summaries", ["sft", "--config", "c.yaml"],
         ["no supervised examples in the train split", "no reference summaries"], DATA_ERROR,
         with_config(cfg(task="{name: tldr, query_length: 300, response_length: 75}", prompts="{path: docs.jsonl}"),
                     **{"docs.jsonl": jsonl(*({"id": str(i), "document": f"Text {i}."} for i in range(20)))})),
    Case("run-without-reference-summaries", ["run", "--config", "c.yaml"],
         ["no supervised examples in the train split", "no reference summaries"], DATA_ERROR,
         with_config(cfg(task="{name: tldr, query_length: 300, response_length: 75}", prompts="{path: docs.jsonl}",
                         policy="{init_from: sft}"),
                     **{"docs.jsonl": jsonl(*({"id": str(i), "document": f"Text {i}."} for i in range(20)))})),
    Case("run-references-longer-than-the-response", ["run", "--config", "c.yaml"],
         ["19 of 19 reference summaries are longer than task.response_length=8 tokens", "raise task.response_length"],
         DATA_ERROR,
         with_config(cfg(task="{name: tldr, query_length: 300, response_length: 8}", prompts="{path: docs.jsonl}",
                         policy="{init_from: sft}"),
                     **{"docs.jsonl": jsonl(*({"id": str(i), "document": f"Text {i}.", "reference": "A long summary " * 9}
                                              for i in range(20)))})),
    Case("run-documents-all-too-long", ["run", "--config", "c.yaml"],
         ["no usable queries in the train split", "are all longer than task.query_length=20 tokens"], DATA_ERROR,
         with_config(cfg(task="{name: sentiment, query_length: 20, truncate_field: null}", prompts="{path: docs.jsonl}"),
                     **{"docs.jsonl": jsonl(*({"id": str(i), "text": "A sentence of several words. " * 30}
                                              for i in range(20)))})),
    Case("policy-init-from-missing", ["train-policy", "--config", "c.yaml"],
         ["config key 'policy.init_from': nosft holds no model (no config.json)", "use sft"], CONFIG_ERROR,
         with_config(cfg(policy="{init_from: nosft}"))),
    Case("policy-also-from-base-alone", ["run", "--config", "c.yaml"],
         "config key 'policy.also_from_base': needs policy.init_from", CONFIG_ERROR,
         with_config(cfg(policy="{also_from_base: true}"))),
    Case("reward-lora-negative", ["train-reward", "--config", "c.yaml", "--reward.lora_r", "-1"],
         "config key 'reward.lora_r': must be 0 (off) or positive, got -1", CONFIG_ERROR, with_config()),
    Case("reward-layers-zero", ["train-reward", "--config", "c.yaml", "--reward.backbone_layers", "0"],
         "config key 'reward.backbone_layers': must be at least 1 (or unset for all), got 0", CONFIG_ERROR, with_config()),
    Case("reward-lora-on-a-frozen-backbone", ["train-reward", "--config", "c.yaml", "--reward.lora_r", "4",
                                              "--reward.train_backbone", "false"],
         "config key 'reward.lora_r': LoRA adapts the backbone, which train_backbone: false freezes", CONFIG_ERROR, with_config()),
    Case("reward-pooling-unknown", ["train-reward", "--config", "c.yaml", "--reward.pooling", "max"],
         "config key 'reward.pooling': expected one of 'last', 'mean', got 'max'", CONFIG_ERROR, with_config()),
    Case("tasks-unknown", ["tasks", "poetry"], "unknown task 'poetry'", CONFIG_ERROR),
    Case("generate-zero-samples", ["generate", "--model", MODEL, "--prompt", "Hi", "--num-samples", "0"],
         "config key 'generation.num_samples': must be positive, got 0", CONFIG_ERROR),
    Case("generate-top-p-above-one", ["generate", "--model", MODEL, "--prompt", "Hi", "--top-p", "1.5"],
         "config key 'generation.top_p': must be in (0, 1], got 1.5", CONFIG_ERROR),
    Case("generate-temperature-not-a-number", ["generate", "--model", MODEL, "--prompt", "Hi", "--temperature", "warm"],
         "argument --temperature: invalid float value: 'warm'", USAGE),
    # -- damaged model folders (a copy of the tiny model at ./model, damaged) -------------------------
    Case("model-config-not-json", GEN_MODEL, ["model/config.json is not valid JSON (line 1, column 2", REDO],
         MODEL_ERROR, damage=put("config.json", "{not json")),
    Case("model-config-of-no-known-model", GEN_MODEL, "model/config.json does not describe a model transformers can build",
         MODEL_ERROR, damage=put("config.json", '{"model_type": "no-such-model"}')),
    Case("model-weights-garbage", GEN_MODEL, ["model/model.safetensors is damaged (Error while deserializing header", REDO],
         MODEL_ERROR, damage=put("model.safetensors", b"\x89garbage" * 64)),
    Case("model-weights-truncated", GEN_MODEL, ["model/model.safetensors is damaged", "file not fully covered", REDO],
         MODEL_ERROR, damage=cut_in_half("model.safetensors")),
    Case("model-weights-missing", GEN_MODEL, ["model holds no weights (no model.safetensors or pytorch_model.bin)", REDO],
         MODEL_ERROR, damage=drop("model.safetensors")),
    Case("model-weights-of-another-model", GEN_MODEL,
         ["model/model.safetensors lacks 29 of the model's tensors", "damaged or belongs to another model"], MODEL_ERROR,
         damage=foreign_weights),
    Case("model-tokenizer-missing", GEN_MODEL, ["model holds no tokenizer (tokenizer.json", REDO], MODEL_ERROR,
         damage=drop("tokenizer.json", "tokenizer_config.json")),
    Case("model-llama-tokenizer-missing", GEN_MODEL, "model holds no tokenizer", MODEL_ERROR,
         damage=drop("tokenizer.json", "tokenizer_config.json"), source="tiny_llama"),
    Case("model-tokenizer-not-json", GEN_MODEL, "model/tokenizer.json is not valid JSON", MODEL_ERROR,
         damage=put("tokenizer.json", "{")),
    Case("model-damaged-in-a-run-config", GENERATE, "model/config.json is not valid JSON", MODEL_ERROR,
         with_config(cfg().replace(MODEL, "model")), damage=put("config.json", "")),
    Case("model-pulled-alias-damaged", ["generate", "--model", "smollm2-135m", "--prompt", "Hi"],
         ["smollm2-135m/model.safetensors is damaged", "and pull it again with `rlhf models pull smollm2-135m`"],
         MODEL_ERROR, damage=as_pulled_alias(cut_in_half("model.safetensors")), target="cache/models/smollm2-135m"),
    # -- damaged reward-model folders (a copy of a tiny reward model at ./model) ----------------------
    Case("reward-head-not-json", SCORE, ["model/reward_head.json is not valid JSON", RETRAIN], MODEL_ERROR,
         damage=put(HEAD_FILE, '{"gain": '), source="tiny_reward_model"),
    Case("reward-head-not-an-object", SCORE, "reward_head.json must hold a JSON object with gain and bias, not list",
         MODEL_ERROR, damage=put(HEAD_FILE, "[1.5, 0.25]"), source="tiny_reward_model"),
    Case("reward-head-gain-a-string", SCORE, "reward_head.json: 'gain' must be a finite number other than 0, got '1.5'",
         MODEL_ERROR, damage=put(HEAD_FILE, json.dumps({**HEAD, "gain": "1.5"})), source="tiny_reward_model"),
    Case("reward-head-gain-zero", SCORE, "'gain' must be a finite number other than 0, got 0", MODEL_ERROR,
         damage=put(HEAD_FILE, json.dumps({**HEAD, "gain": 0})), source="tiny_reward_model"),
    Case("reward-head-bias-missing", SCORE, "reward_head.json: 'bias' must be a finite number, got missing", MODEL_ERROR,
         damage=put(HEAD_FILE, '{"gain": 1.5}'), source="tiny_reward_model"),
    Case("reward-head-bias-nan", SCORE, "'bias' must be a finite number, got nan", MODEL_ERROR,
         damage=put(HEAD_FILE, '{"gain": 1.5, "bias": NaN}'), source="tiny_reward_model"),
    Case("reward-head-pooling-unknown", SCORE, "'pooling' must be one of last, mean, got 'max'", MODEL_ERROR,
         damage=put(HEAD_FILE, json.dumps({**HEAD, "pooling": "max"})), source="tiny_reward_model"),
    Case("reward-weights-missing", SCORE, ["model holds no weights", RETRAIN], MODEL_ERROR,
         damage=drop("model.safetensors"), source="tiny_reward_model"),
    Case("reward-tokenizer-missing", SCORE, ["model holds no tokenizer", RETRAIN], MODEL_ERROR,
         damage=drop("tokenizer.json", "tokenizer_config.json"), source="tiny_reward_model"),
    Case("reward-weights-truncated-for-ppo", ["train-policy", "--config", "c.yaml", "--reward-model", "model"],
         ["model/model.safetensors is damaged", RETRAIN], MODEL_ERROR, with_config(),
         damage=cut_in_half("model.safetensors"), source="tiny_reward_model"),
    # -- outputs that cannot be written: refused before any model loads ------------------------------
    Case("generate-output-under-a-file", GEN_MODEL + ["--output", "afile/out.jsonl"],
         "--output afile/out.jsonl cannot be written: afile is a file, not a folder; choose another path", RLHF_ERROR,
         {"afile": "x"}),
    Case("generate-output-is-a-folder", GEN_MODEL + ["--output", "out"], "--output out is a folder: name a file",
         RLHF_ERROR, {"out": None}),
    Case("generate-output-read-only", GEN_MODEL + ["--output", "ro/out.jsonl"],
         "--output ro/out.jsonl cannot be written: no permission to write in ro", RLHF_ERROR, setup=read_only("ro")),
    Case("generate-run-dir-under-a-file", GENERATE, ["runs/bad/generations.jsonl cannot be written: runs is a file"],
         RLHF_ERROR, with_config(runs="x")),
    Case("score-output-under-a-file", SCORE + ["--output", "afile/s.jsonl"], "--output afile/s.jsonl cannot be written",
         RLHF_ERROR, {"afile": "x"}),
    Case("score-output-is-a-folder", SCORE + ["--output", "out"], "--output out is a folder", RLHF_ERROR, {"out": None}),
    Case("report-out-under-a-file", ["report", "runs/r", "--out", "afile/report"],
         "--out afile/report cannot be written: afile is a file, not a folder", RLHF_ERROR,
         {"runs/r/config.yaml": "name: r\n", "afile": "x"}),
    Case("report-out-is-a-file", ["report", "runs/r", "--out", "afile"], "--out afile is a file, not a folder",
         RLHF_ERROR, {"runs/r/config.yaml": "name: r\n", "afile": "x"}),
    Case("report-out-read-only", ["report", "runs/r", "--out", "ro"], "--out ro cannot be written: no permission",
         RLHF_ERROR, {"runs/r/config.yaml": "name: r\n"}, setup=read_only("ro")),
    Case("export-out-under-a-file", ["export", "--config", "c.yaml", "--out", "afile/exports"],
         "--out afile/exports cannot be written: afile is a file", RLHF_ERROR, with_config(afile="x")),
    Case("sample-run-dir-under-a-file", SAMPLE, ["run directory runs/bad cannot be written: runs is a file",
                                                 "set output_dir"], RLHF_ERROR, with_config(runs="x")),
    Case("sample-run-dir-read-only", SAMPLE, "run directory runs/bad cannot be written: no permission to write in runs",
         RLHF_ERROR, with_config(), setup=read_only("runs")),
    Case("import-run-dir-under-a-file", IMPORT, "run directory runs/bad cannot be written", RLHF_ERROR,
         with_config(runs="x", **{"labels.jsonl": jsonl(GOOD)})),
    Case("train-reward-run-dir-under-a-file", ["train-reward", "--config", "c.yaml", "--labels", "l.jsonl"],
         "run directory runs/bad cannot be written", RLHF_ERROR, with_config(runs="x", **{"l.jsonl": jsonl(GOOD)})),
    # -- endless inputs: read with bounded memory, never to the end of a device ----------------------
    Case("prompts-dev-zero", GENERATE, "config key 'prompts.path': /dev/zero is a character device, not a regular file",
         CONFIG_ERROR, with_config(cfg(prompts="{path: /dev/zero}")), setup=needs_dev_zero),
    Case("prompts-text-one-huge-line", GENERATE, ["gave no usable prompts (skipped 1 line longer than 1,000,000 bytes)",
                                                  "a line (or CSV or Parquet record) may hold at most"], DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.txt}"), **{"prompts.txt": b"A" * LONG_LINE})),
    Case("prompts-jsonl-one-huge-line", GENERATE, "skipped 1 line longer than 1,000,000 bytes", DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.jsonl}"), **{"prompts.jsonl": b'{"text": "' + b"a" * LONG_LINE + b'"}'})),
    Case("prompts-csv-one-huge-record", GENERATE, "skipped 1 line longer than 1,000,000 bytes", DATA_ERROR,
         with_config(cfg(prompts="{path: prompts.csv}"), **{"prompts.csv": b'text\n"' + b"a" * LONG_LINE + b'"\n'})),
    Case("labels-dev-zero", ["import", "--config", "c.yaml", "/dev/zero"],
         ["label file /dev/zero is a character device, not a regular file", "name a JSONL or JSON label file"],
         DATA_ERROR, with_config(), setup=needs_dev_zero),
    Case("labels-one-huge-line", IMPORT, ["labels.jsonl, line 2: longer than 1,000,000 bytes", "nothing was imported"],
         DATA_ERROR, with_config(**{"labels.jsonl": jsonl(GOOD).encode() + b'{"query": "' + b"a" * LONG_LINE + b'"}'})),
    Case("labels-a-folder", ["import", "--config", "c.yaml", "labels"], "label file labels is a folder", DATA_ERROR,
         with_config(labels=None)),
]

def _db_counts(path: Path) -> dict:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def snapshot(root: Path) -> dict:
    """Every file and folder under root: a content hash, or a database's row counts per table."""
    state = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.endswith(SQLITE_SIDE_FILES):
            continue  # SQLite's own journal files come and go with connections
        if path.is_dir():
            state[rel] = "folder"
        elif path.suffix == ".db":
            state[rel] = _db_counts(path)
        else:
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def test_there_are_enough_cases():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_message_and_writes_nothing(case, cli, tmp_path, tiny_gpt2, monkeypatch, request,
                                                              capsys):
    fill = lambda s: s.replace(MODEL, str(tiny_gpt2)) if isinstance(s, str) else s
    for rel, content in case.files.items():
        path = tmp_path / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(fill(content), encoding="utf-8")
    if case.damage:
        case.damage(Path(shutil.copytree(request.getfixturevalue(case.source), tmp_path / case.target)))
        capsys.readouterr()  # a model fixture built just now printed its progress bars: not the command's output
    if case.setup:
        case.setup(cli, monkeypatch)
    before = snapshot(tmp_path)

    code, out, err = cli(*[fill(a) for a in case.argv])

    assert "Traceback" not in err + out
    assert code == case.code, f"exit {code}, expected {case.code}; stderr:\n{err}"
    line = the_error_line(err)
    for needle in [case.expect] if isinstance(case.expect, str) else case.expect:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert snapshot(tmp_path) == before, "the failed command wrote or changed files"
    assert not (tmp_path / "runs" / "bad").exists() or case.setup is _import_good_labels
