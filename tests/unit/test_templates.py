r"""The one prompt-template engine: `{name}` is a placeholder, `{{`/`}}` literal braces, every other brace text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnivo_cli.data.templates import Placeholder, TemplateError, parse, placeholders, render

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
# Text rich in what a template parser can get wrong: braces, backslashes, digits, names.
TEXT = st.text(alphabet=st.sampled_from(list("{}{}\\ab_1 x^é\n")), max_size=20)


def escape(text: str) -> str:
    """Literal text written in template syntax: every brace doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def sentinel(name: str) -> str:
    return f"<{name}>"  # no brace, so it cannot be mistaken for template syntax


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{prompt} Write only the final answer as \\boxed{}.", "Q? Write only the final answer as \\boxed{}."),
        ("x^{2} + {1} + { x } + {} + {-y}", "x^{2} + {1} + { x } + {} + {-y}"),
        ("\\frac{{a}}{{b}} of {prompt}", "\\frac{a}{b} of Q?"),
        ("{{prompt}} is literal, {{{prompt}}} is braced", "{prompt} is literal, {Q?} is braced"),
        # The quickstart's old mistake: `\boxed{answer}` is a placeholder like any other, in the check too.
        ("{prompt} as \\boxed{answer}", "Q? as \\boxed10"),
    ],
)
def test_the_rule_on_examples(template, expected):
    assert render(template, {"prompt": "Q?", "answer": "10"}) == expected


def test_the_check_reads_what_the_renderer_fills():
    assert placeholders("{prompt} as \\boxed{answer}, x^{2}, \\frac{{a}}{{b}}, {prompt}") == ["prompt", "answer"]
    assert parse("a{b}{{c}}") == ["a", Placeholder("b"), "{c}"]


def test_a_placeholder_without_value_is_an_error_naming_it_and_the_columns():
    with pytest.raises(TemplateError) as caught:
        render("{prompt} in \\boxed{x} at {levle}", {"prompt": "Q", "level": 3})
    message = str(caught.value)
    assert caught.value.names == ["x", "levle"]
    assert message.startswith("names {x}, {levle}, which the data lacks (columns: level, prompt)")
    assert "for literal braces around a word write {{x}}" in message


def test_did_you_mean_names_the_closest_column():
    with pytest.raises(TemplateError, match=r"did you mean '\{level\}'\?"):
        render("{levle}", {"level": 3})


@given(st.lists(st.one_of(TEXT, NAMES.map(Placeholder)), max_size=8))
def test_render_holds_every_literal_piece_and_exactly_the_values(pieces):
    template = "".join(escape(p) if isinstance(p, str) else "{" + p.name + "}" for p in pieces)
    names = [p.name for p in pieces if isinstance(p, Placeholder)]
    values = {name: sentinel(name) for name in names}
    expected = "".join(p if isinstance(p, str) else sentinel(p.name) for p in pieces)
    assert render(template, values) == expected
    assert placeholders(template) == list(dict.fromkeys(names))
    for name in set(names):  # the check and the renderer agree on what is needed
        with pytest.raises(TemplateError) as caught:
            render(template, {key: value for key, value in values.items() if key != name})
        assert caught.value.names == [name]


# Literal text the rule promises needs no escaping: braces around nothing, a number or spaces.
RAW_LITERALS = st.sampled_from(["\\boxed{}", "{}", "{ x }", "{1}", "x^{2}", "{-1}", " ", "a", "\\", "Answer: "])


@given(st.lists(st.one_of(RAW_LITERALS, NAMES.map(Placeholder)), max_size=8))
def test_braces_that_hold_no_name_need_no_escaping(pieces):
    template = "".join(p if isinstance(p, str) else "{" + p.name + "}" for p in pieces)
    values = {p.name: sentinel(p.name) for p in pieces if isinstance(p, Placeholder)}
    assert render(template, values) == "".join(p if isinstance(p, str) else sentinel(p.name) for p in pieces)


@given(TEXT)
def test_any_text_escaped_renders_as_itself(text):
    assert placeholders(escape(text)) == []
    assert render(escape(text), {}) == text
