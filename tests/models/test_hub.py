from rlhf.models import hub


def test_offline_env_means_unreachable_without_a_network_call(monkeypatch):
    hub.hub_reachable.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub.socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(AssertionError("no call")))
    assert hub.hub_reachable() is False
    hub.hub_reachable.cache_clear()


def test_unreachable_endpoint_switches_huggingface_hub_offline(monkeypatch):
    import huggingface_hub.constants

    hub.hub_reachable.cache_clear()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    assert hub.use_offline_mode_if_unreachable() is False
    assert huggingface_hub.constants.HF_HUB_OFFLINE is True
    hub.hub_reachable.cache_clear()
