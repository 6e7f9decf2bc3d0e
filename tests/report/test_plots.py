"""The report's figures: KL and β from 0, legends off the plotted area, the proxy judge named as one."""

import pytest
from matplotlib.text import Text
from report_fixtures import make_run, training_log

from rlhf.report import plots
from rlhf.report.runs import load_run
from rlhf.report.write import figures


def drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def axes_by_ylabel(fig) -> dict:
    return {ax.get_ylabel(): ax for ax in fig.axes}


def test_kl_and_beta_axes_start_at_zero():
    fig = plots.training(training_log())
    axes = axes_by_ylabel(fig)
    drawn(fig)
    assert axes["KL (nats)"].get_ylim()[0] == 0 and axes["β"].get_ylim()[0] == 0
    beta_top = axes["β"].get_ylim()[1]
    assert beta_top > max(row["objective/beta"] for row in training_log() if "objective/beta" in row)  # not on the frame
    assert axes["KL (nats)"].get_title(loc="left") == "KL from the base model"


def test_a_constant_beta_is_drawn_inside_the_axes():
    log = [dict(row, **{"objective/beta": 0.15}) for row in training_log() if "objective/scores" in row]
    low, high = axes_by_ylabel(plots.training(log))["β"].get_ylim()
    assert low == 0 and high > 0.15 * 1.05


def test_a_negative_kl_extends_the_axis_and_the_title_says_how_far():
    log = training_log()
    log[0]["objective/kl"] = -0.05  # the sampled KL estimate can dip below 0 early on
    kl = axes_by_ylabel(plots.training(log))["KL (nats)"]
    assert kl.get_ylim()[0] < -0.05
    assert kl.get_title(loc="left").startswith("KL from the base model (from -0.05 to ")


def report_figures(tmp_path) -> dict:
    return figures([load_run(make_run(tmp_path / "runs", "demo"))])


def test_every_legend_sits_outside_every_plotting_area(tmp_path):
    made = report_figures(tmp_path)
    assert {"win_rates", "training", "reward_distribution", "lengths"} <= set(made)
    legends = 0
    for name, fig in made.items():
        renderer = drawn(fig)
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            legends += 1
            box = legend.get_window_extent(renderer)
            for other in fig.axes:  # twin axes share the area, so each is checked
                assert not box.overlaps(other.get_window_extent(renderer)), (name, ax.get_title(loc="left"))
            assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1), name  # not cut off
    assert legends == 5  # reward, KL and β, two histogram panels, lengths


@pytest.mark.parametrize("name", ["win_rates", "training", "reward_distribution"])
def test_the_reward_model_is_named_a_proxy_in_every_figure(tmp_path, name):
    fig = report_figures(tmp_path)[name]
    drawn(fig)
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    mentions = [t for t in texts if "reward_model" in t or "reward model" in t]
    assert mentions and all("(proxy)" in t for t in mentions), mentions
