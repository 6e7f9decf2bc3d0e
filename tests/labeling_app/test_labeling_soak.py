"""bench/soak.py's protocol clients against a real `streamlit run`: a short soak stores every label it
submits, and a client that never signed in gets only the sign-in form."""

import asyncio
import types

import pytest
from bench_modules import load_bench

from labeling_app.browser import AppServer
from labeling_app.synthetic import make_run
from rlhf.config.sections import LabelingConfig


@pytest.fixture(scope="module")
def soak():
    return load_bench("soak")


def test_a_short_soak_stores_every_label_it_submits(soak, tmp_path):
    # Think at least the app's least reading time, as bench/soak.py enforces: faster clicks are dropped.
    args = types.SimpleNamespace(minutes=0.25, think=LabelingConfig().min_seconds + 0.05, seed=1)
    result = soak.scenario(2, args, tmp_path)
    assert result["errors"] == [] and result["submitted"] > 4
    assert result["submitted"] == result["stored"] and result["p95_ms"] is not None


def test_a_session_that_never_signed_in_sees_only_the_form(soak, tmp_path):
    config_path, store = make_run(tmp_path / "runs", "nosign", batches=3, labelers=[("ann", "ann-password", "labeler")])

    async def visit(url):
        session = soak.StreamlitSession(url)
        await session.connect()
        try:
            first = await session.rerun()
            wrong = await session.rerun([(first.text_inputs["Name"], "ann"), (first.text_inputs["Password"], "nope"),
                                         (next(b for b, label in first.buttons if label == "Sign in"), True)])
            return first, wrong
        finally:
            await session.close()

    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as server:
        first, wrong = asyncio.run(visit(server.url))
    for page in (first, wrong):
        assert page.batch is None and [label for _, label in page.buttons] == ["Sign in"]
        assert set(page.text_inputs) == {"Name", "Password"}
    assert wrong.problems == ["Wrong name or password."] and store.labels() == []
