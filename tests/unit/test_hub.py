"""Hub loading fails fast and once when the hub cannot be reached; nothing here contacts a real host."""

from __future__ import annotations

import sys

import pytest

from gnivo_cli import hub
from gnivo_cli.errors import GnivoError

UNREACHABLE = "http://127.0.0.1:9"  # the discard port on this machine: nothing listens, the refusal is immediate


@pytest.fixture
def online_env(monkeypatch):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    monkeypatch.setattr(hub, "_probe_result", {})
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return monkeypatch


def test_offline_variable_is_the_reason_without_any_probe(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "_probe", lambda endpoint: pytest.fail("probed although offline"))
    assert hub.offline_reason() == "HF_HUB_OFFLINE is set"


def test_an_unreachable_endpoint_is_probed_once(online_env):
    calls = []
    real = hub._probe
    online_env.setattr(hub, "_probe", lambda endpoint: calls.append(endpoint) or real(endpoint))
    first = hub.offline_reason()
    assert first.startswith("cannot connect to 127.0.0.1:9")
    assert hub.offline_reason() == first and calls == [UNREACHABLE]


def test_from_hub_goes_offline_and_fails_once_with_the_hint(online_env):
    attempts = []

    def load():
        attempts.append(hub.os.environ.get("HF_HUB_OFFLINE"))
        raise ConnectionError("Max retries exceeded\nmore lines")

    with pytest.raises(GnivoError) as info:
        hub.from_hub("model 'x/y'", load, "pass a local folder")
    message = str(info.value)
    assert message.startswith("could not load model 'x/y': not in the local cache, and the Hugging Face hub is out")
    assert message.endswith("pass a local folder") and "\n" not in message
    assert attempts == ["1"]  # loaded once, already in offline mode (a cached copy would still load)
    constants = sys.modules.get("huggingface_hub.constants")
    assert constants is None or constants.HF_HUB_OFFLINE is True


def test_a_cached_copy_still_loads_when_the_hub_is_out_of_reach(online_env):
    assert hub.from_hub("dataset 'x'", lambda: [1, 2], "hint") == [1, 2]


def test_a_reachable_hub_reports_the_library_error_in_one_line(monkeypatch):
    monkeypatch.setattr(hub, "offline_reason", lambda: None)

    def load():
        raise FileNotFoundError("404 Client Error: repository not found\nsecond line")

    with pytest.raises(
        GnivoError,
        match=r"^could not load x from the Hugging Face hub \(404 Client Error: "
        r"repository not found\); hint$",
    ):
        hub.from_hub("x", load, "hint")


def test_behind_a_proxy_the_libraries_decide(online_env):
    online_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # never contacted: its presence skips the probe
    online_env.setattr(hub, "_probe", lambda endpoint: pytest.fail("probed directly although a proxy is set"))
    assert hub.offline_reason() is None
