"""`--html FILE`: one self-contained page (styles and script inline, nothing fetched) with, per prompt, its
completions side by side, highest reward first, each token coloured on a diverging scale and its numbers on
hover. Written for a reader who has never seen an implicit value: the page says what the colours mean."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from gnivo_cli.files.atomic import write_text_atomic
from gnivo_cli.values.colors import NEGATIVE, POSITIVE, diverging, hex_color, readable_text
from gnivo_cli.values.page_style import SCRIPT, STYLE
from gnivo_cli.values.report import PromptReport, ScoredCompletion, ValuesReport, shown_tokens


def write_html(report: ValuesReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, render_page(report))
    return path


def render_page(report: ValuesReport) -> str:
    target = report.target
    value_limit, change_limit = report.value_limit(), report.change_limit()
    title = f"Implicit values · {target['model']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        _introduction(report, value_limit, change_limit),
        *(_prompt_section(prompt, report, value_limit, change_limit) for prompt in report.prompts),
        '<div id="info" class="info">Hover over a token to see its numbers.</div>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _introduction(report: ValuesReport, value_limit: float, change_limit: float) -> str:
    target = report.target
    unit = (
        "every token is a step"
        if target["unit"] == "token"
        else f"a step ends after each {escape(repr(target['step_separator']))}"
    )
    settings = report.settings
    made = (
        f"{settings.get('samples')} completions per prompt sampled at temperature {settings.get('temperature')}, "
        f"seed {settings.get('seed')}"
        if settings.get("generated")
        else "completions as given"
    )
    rewards = ", ".join(f"{r['name']} × {r['weight']:g}" for r in target.get("rewards") or []) or "as recorded"
    if settings.get("reward"):
        rewards = str(settings["reward"])
    gradient = f"linear-gradient(to right, {hex_color(NEGATIVE)}, #f7f7f7, {hex_color(POSITIVE)})"
    notes = "".join(f"<li>{escape(note)}</li>" for note in report.notes)
    return f"""
<section class="about">
<p class="lead">A policy trained with GN-IVO is meant to be a value model: <b>α·log π<sub>θ</sub>(text so far) /
π<sub>ref</sub>(text so far)</b> estimates how much more reward the policy expects from the text so far than from
the prompt alone. Each token below is coloured by that value <b>after</b> the token: <span class="swatch neg">red</span>
where the policy thinks the answer has got worse than the prompt's promise, <span class="swatch pos">blue</span>
where better, white where nothing changed. Switch to <i>change</i> to colour each token by what it alone added.
Hover over a token for its numbers.</p>
<div class="legend">
  <div class="controls">Colour by:
    <label><input type="radio" name="colour" value="value" checked> value so far</label>
    <label><input type="radio" name="colour" value="change"> this token's change</label>
  </div>
  <div class="bar" style="background: {gradient}"></div>
  <div class="ticks" data-value="{value_limit:.6g}" data-change="{change_limit:.6g}">
    <span id="tick-low">−{value_limit:.3g}</span><span>0</span><span id="tick-high">+{value_limit:.3g}</span>
  </div>
  <div class="ticks words"><span>worse than the prompt</span><span>no change</span><span>better</span></div>
</div>
<table class="meta">
<tr><th>policy</th><td>{escape(str(target["policy"]))}</td></tr>
<tr><th>reference</th><td>{escape(str(target["reference"]))}</td></tr>
<tr><th>values</th><td>{escape(str(target["scale_note"]))}</td></tr>
<tr><th>steps</th><td>{unit}; a completion's score is its <b>lowest step value</b> (ImplicitPRM's rule) or its
<b>final value</b></td></tr>
<tr><th>completions</th><td>{escape(made)}; sorted by reward ({escape(rewards)}), highest first</td></tr>
</table>
<p class="caveat"><b>Read values by rank, not by size.</b> The scale α·log-ratio is exact only at the optimum of one
KL-regularised step from π<sub>ref</sub>; a policy trained for many iterations without a KL penalty moves past it,
so its values grow larger than the rewards. Which completion or step is higher is what carries over.</p>
{f'<ul class="notes">{notes}</ul>' if notes else ""}
</section>"""


def _prompt_section(prompt: PromptReport, report: ValuesReport, value_limit: float, change_limit: float) -> str:
    cards = "\n".join(
        _card(rank, completion, report.scale, value_limit, change_limit)
        for rank, completion in enumerate(prompt.completions, start=1)
    )
    count = len(prompt.completions)
    return f"""
<section class="prompt" data-label="{escape(prompt.label)}">
<h2>{escape(prompt.label)}</h2>
<div class="question">{escape(prompt.question)}</div>
<p class="count">{count} completion{"s" if count != 1 else ""}, highest reward first</p>
<div class="cards">
{cards}
</div>
</section>"""


def _card(rank: int, completion: ScoredCompletion, scale: float, value_limit: float, change_limit: float) -> str:
    values = completion.values
    reward = "—" if completion.reward is None else f"{completion.reward:.3g}"
    steps_of = values.step_of_token()
    # Step ends are marked where a step is more than one token (with the token unit every token ends one).
    ends = set(values.step_ends) if len(values.step_ends) < len(values.values) else set()
    spans = []
    for position, (token, (shown, line_break), value, ratio) in enumerate(
        zip(completion.tokens, shown_tokens(completion.tokens), values.values, values.log_ratios, strict=True)
    ):
        change = scale * ratio
        by_value, by_change = diverging(value, value_limit), diverging(change, change_limit)
        info = {
            "token": token,
            "position": position + 1,
            "step": steps_of[position] + 1,
            "value": round(value, 4),
            "change": round(change, 4),
            "logp_policy": round(completion.policy_logps[position], 4),
            "logp_reference": round(completion.ref_logps[position], 4),
        }
        title = (
            f"{token!r}: value so far {value:+.3f}, this token {change:+.3f} "
            f"(log π_θ {completion.policy_logps[position]:.3f}, log π_ref {completion.ref_logps[position]:.3f}), "
            f"step {steps_of[position] + 1}"
        )
        style = f"background:{hex_color(by_value)};color:{hex_color(readable_text(by_value))}"
        spans.append(
            f'<span class="tok{" end" if position in ends else ""}" style="{style}" '
            f'data-value="{value:.6g}" data-change="{change:.6g}" '
            f'data-cv="{hex_color(by_value)}" data-tv="{hex_color(readable_text(by_value))}" '
            f'data-cc="{hex_color(by_change)}" data-tc="{hex_color(readable_text(by_change))}" '
            f"data-info='{escape(json.dumps(info))}' title=\"{escape(title)}\">{escape(shown)}</span>"
            + ("\n" if line_break else "")
        )
    lowest = f"step {values.lowest_step + 1}: <b>{values.min_step_value:+.3f}</b>" if values.step_values else "no steps"
    cut = "" if completion.finished else '<span class="cut">cut at the token limit</span>'
    reward_attribute = "" if completion.reward is None else repr(completion.reward)
    return f"""<article class="completion" data-rank="{rank}" data-reward="{reward_attribute}" \
data-index="{completion.index}">
<header><span class="rank">#{rank}</span> <span class="reward">reward <b>{reward}</b></span> {cut}</header>
<div class="numbers">lowest step value, {lowest} · final value <b>{values.final_value:+.3f}</b></div>
{_sparkline(values.values, value_limit)}
<div class="text">{"".join(spans)}</div>
{_steps_table(completion)}
</article>"""


def _sparkline(values: tuple[float, ...], limit: float) -> str:
    """The value along the completion, on the page's shared scale (the zero line dashed)."""
    if not values:
        return ""
    width, height = max(len(values), 2), 40.0
    span = limit if limit > 0 else 1.0

    def y(value: float) -> float:
        return round(height / 2 - (value / span) * (height / 2 - 2), 2)

    points = " ".join(f"{i + 1},{y(v)}" for i, v in enumerate([0.0, *values][: width + 1]))
    return (
        f'<svg class="spark" viewBox="0 0 {width + 2} {height:g}" preserveAspectRatio="none" role="img" '
        f'aria-label="value along the completion"><line x1="0" y1="{height / 2:g}" x2="{width + 2}" '
        f'y2="{height / 2:g}"/><polyline points="{points}"/></svg>'
    )


def _steps_table(completion: ScoredCompletion) -> str:
    values = completion.values
    rows = "".join(
        f"<tr{' class=low' if index == values.lowest_step else ''}><td>{index + 1}</td>"
        f"<td>{escape(completion.step_text(index).replace(chr(10), '↵'))}</td>"
        f"<td>{values.step_values[index]:+.3f}</td><td>{values.step_changes[index]:+.3f}</td></tr>"
        for index in range(len(values.step_ends))
    )
    is_open = " open" if len(values.step_ends) <= 8 else ""
    return (
        f"<details{is_open}><summary>{len(values.step_ends)} steps: value at each step's end, and its change</summary>"
        f"<table class=steps><tr><th>step</th><th>text</th><th>value</th><th>change</th></tr>{rows}</table></details>"
    )
