import pytest

from rlhf.config.sections import ModelConfig
from rlhf.errors import ModelNotAvailable
from rlhf.models.loading import context_length, load_causal_lm, resolve
from rlhf.models.tokenizer import add_pad_token, load_tokenizer


@pytest.mark.parametrize("fixture", ["tiny_gpt2", "tiny_llama"])
def test_local_directories_load_with_a_distinct_pad_and_left_padding(fixture, request):
    path = request.getfixturevalue(fixture)
    model, tokenizer = load_causal_lm(ModelConfig(name=str(path)))
    assert tokenizer.pad_token_id != tokenizer.eos_token_id and tokenizer.padding_side == "left"
    assert model.config.pad_token_id == tokenizer.pad_token_id and not model.training
    assert model.get_input_embeddings().num_embeddings >= len(tokenizer)
    batch = tokenizer(["a", "a longer text"], padding=True)
    assert batch["input_ids"][0][0] == tokenizer.pad_token_id  # padded on the left


def test_a_tokenizer_whose_pad_is_eos_gets_its_own_pad_and_the_model_a_row(tiny_gpt2):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_gpt2)
    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2)
    tokenizer.pad_token = tokenizer.eos_token
    rows = model.get_input_embeddings().num_embeddings
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|extra|>"]})  # push len(tokenizer) past the rows
    assert add_pad_token(tokenizer, model)
    assert tokenizer.pad_token == "<|pad|>" and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert model.get_input_embeddings().num_embeddings == len(tokenizer) > rows
    assert not add_pad_token(tokenizer, model)


def test_a_directory_without_a_model_is_refused(tmp_path):
    with pytest.raises(ModelNotAvailable, match="holds no model"):
        resolve(str(tmp_path))
    with pytest.raises(ModelNotAvailable, match="not a model directory"):
        resolve("./does-not-exist")


def test_a_hub_name_without_the_hub_names_the_offline_default(monkeypatch):
    import rlhf.models.loading

    monkeypatch.setattr(rlhf.models.loading, "use_offline_mode_if_unreachable", lambda: _offline())
    with pytest.raises(ModelNotAvailable) as info:
        resolve("gpt2")
    message = str(info.value)
    assert "cannot load 'gpt2'" in message and "smollm2-135m" in message and "\n" not in message


def _offline() -> bool:
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True
    return False


def test_context_length_reads_either_config_shape(tiny_gpt2, tiny_llama):
    from transformers import AutoConfig

    assert context_length(AutoConfig.from_pretrained(tiny_gpt2)) == 1024
    assert context_length(AutoConfig.from_pretrained(tiny_llama)) == 1024


def test_tokenizer_reload_keeps_the_pad_token(tiny_llama):
    first = load_tokenizer(str(tiny_llama))
    assert load_tokenizer(str(tiny_llama)).pad_token_id == first.pad_token_id


def test_auto_means_rlhf_device_when_set_else_cuda_when_available(monkeypatch):
    import torch

    from rlhf.models.loading import DEVICE_ENV, pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert pick_device("auto").type == "cpu"  # a GPU machine told to stay on the CPU (the test suite's default)
    assert pick_device("cuda:1") == torch.device("cuda:1")  # a device named in the config is kept
    monkeypatch.delenv(DEVICE_ENV)
    assert pick_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"


def test_training_runs_on_the_gpu_only_where_the_models_device_is_one(monkeypatch, tmp_path):
    import torch

    from rlhf.config.run_config import load_config
    from rlhf.models.loading import DEVICE_ENV, on_gpu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    path = tmp_path / "c.yaml"
    path.write_text("name: d\noutput_dir: runs\ntask: {name: sentiment}\n", encoding="utf-8")
    assert on_gpu(load_config(str(path)))
    assert not on_gpu(load_config(str(path), [("model.device", "cpu")]))  # so the trainers get use_cpu=True
