"""Secrets kept out of what is shown: `mask_secrets` of a config, as the run report prints it."""

import pytest

from rlhf.config.secrets import MASK, is_secret_key, mask_secrets


@pytest.mark.parametrize("key", ["password", "db_password", "PASSWORD", "client-secret", "secret_key", "token",
                                 "hf_token", "wandb.api_key", "API_KEY", "apikey", "credentials", "passwd", "passwords"])
def test_secret_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["truncate_token", "pad_token", "max_new_tokens", "tokenizer", "name", "database_url",
                                 "secretary", "tokens"])
def test_keys_that_only_look_like_secrets(key):
    assert not is_secret_key(key)


def test_mask_secrets_masks_values_and_url_passwords_at_any_depth():
    data = {"labeling": {"database_url": "postgresql://ann:pa:ss@word@db/labels", "port": 5432},
            "tracking": [{"hf_token": "hf_x", "url": "https://host/plain"}, "redis://:topsecret@cache:6379/0"],
            "task": {"truncate_token": ".", "token": None}, "password": ""}
    masked = mask_secrets(data)
    assert masked == {"labeling": {"database_url": f"postgresql://ann:{MASK}@db/labels", "port": 5432},
                      "tracking": [{"hf_token": MASK, "url": "https://host/plain"}, f"redis://:{MASK}@cache:6379/0"],
                      "task": {"truncate_token": ".", "token": None}, "password": ""}  # nothing to hide stays as it is
    assert data["tracking"][0]["hf_token"] == "hf_x"  # a copy: the config itself is untouched
