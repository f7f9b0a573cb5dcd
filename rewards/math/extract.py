"""Finding the final answer in a completion: pure string work, linear in the text, no sympy.

Order: the last ``\\boxed{...}`` / ``\\fbox{...}``; then, if enabled, the fallbacks in the order given
("answer_is": "final answer is X" / "the answer is X", the value of X's sentence; "last_number": the last
number in the text, or the whole relation, interval, set or matrix it belongs to).
Only the text after the last ``</think>`` counts where that tag is present. `split_answer` joins an
answer split over several boxes; `rewards.math.reward` decides when that joined answer may count.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence

THINK_END = "</think>"
BOX_COMMANDS = ("\\boxed", "\\fbox")
#: Where a found answer came from when no box was found and no fallback matched.
NO_ANSWER = "none"
BOXED = "boxed"

# "The final answer is $x$. I hope it is correct." / "the answer is: 42" / "Answer: 42". The answer runs
# to the end of its line; a sentence end (". " or a final ".") is cut off below.
_ANSWER_IS = re.compile(r"(?:final\s+answer|the\s+answer|\banswer)\s*(?:is\b|:)\s*:?[ \t]*", re.I)
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
# Math in a sentence: $$...$$, $...$, \(...\), \[...\]. Bounded spans keep the scan linear.
# A segment's content never holds its own opening delimiter, so a failed attempt stops at the next one.
_MATH_SEGMENT = re.compile(
    r"\$\$([^$]{1,2000}?)\$\$|\$([^$]{1,2000}?)\$"
    r"|\\\(((?:(?!\\\().){1,2000}?)\\\)|\\\[((?:(?!\\\[).){1,2000}?)\\\]",
    re.S,
)
_MATRIX = re.compile(r"\\begin\{([pbvBV]?matrix|array)\}(?:(?!\\begin\{).){0,4000}?\\end\{\1\}", re.S)
# A relation, interval, set or matrix: a number inside one is not the answer on its own.
_STRUCTURE = re.compile(
    r"[<>]|!=|\\[lg]eq?\b|\\[lg]t\b|\\neq?\b|\\in\b|\\cup|\\cap|\\infty|\\\{|\\begin\{|[(\[][^()\[\]]*,[^()\[\]]*[)\]]"
    r"|\\pm"
    r"|=[^=]*[A-Za-z]"  # an equation whose right side is an expression (y = 2x + 3), not a value (x = 3)
)
_PLAIN_RELATION = re.compile(
    r"\b[a-zA-Z]\s*(?:[<>]=?|!=|≤|≥|≠|\\(?:[lg]eq?|[lg]t|neq?)(?![A-Za-z]))\s*-?\d+(?:\.\d+)?(?:/\d+)?"
)
_COPULA = re.compile(r"\b(?:is|are|equals|was)\b", re.I)
_NUMBER_THEN_PROSE = re.compile(
    r"(?P<number>[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:/\d+)?)\s+(?:because|since|as|so|which|where|when)\b"
)
_SPACES = re.compile(r"\s*")
# What a value starts with: a digit, a sign, math, a LaTeX command, a bracket.
_VALUE_START = re.compile(r"[-+−]?\s*(?:\d|\.\d)|\$|\\|[(\[{]")
_SEPARATOR = re.compile(r"\s*(?:,|\band\b|\bor\b|,\s*and\b|,\s*or\b)?\s*")
# A comma that separates thousands: after a number of at most three digits (or a thousands group), before
# exactly three digits.
_THOUSANDS_HEAD = re.compile(r"\s*[+-]?\d{1,3}(?:,\d{3})*")
_THOUSANDS_TAIL = re.compile(r"\d{3}(?![\d])")
# "A = \{...\}", "x \in \{...\}": the set's name goes before its elements are counted.
_NAMED_SET = re.compile(r"[A-Za-z](?:_\{?\w+\}?)?\s*(?:=|\\in)\s*(?=\\\{|\\left\\\{)")
_BOX_START = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])\s*")
# Integers with optional thousands separators, decimals, and simple fractions a/b; a sign if attached.
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|(?<![\w.])-?\.\d+")


def final_text(completion: str) -> str:
    """The part of a completion that holds the answer: after the last ``</think>`` when present."""
    cut = completion.rfind(THINK_END)
    return completion if cut < 0 else completion[cut + len(THINK_END) :]


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{}`` or ``\\fbox{}``, braces counted; an unclosed box takes the rest.

    Also accepts the brace-less form ``\\boxed 5``. Returns None when there is no box or it is empty.
    Lenient, for reference solutions; a completion's answer goes through `extract_answer`, which does not
    accept an unclosed box.
    """
    found = _last_box(text)
    return found[0] if found is not None else None


def _last_box(text: str) -> tuple[str, bool] | None:
    """(content, closed) of the last box; None when there is no box or it is empty."""
    start = -1
    command = ""
    for candidate in BOX_COMMANDS:
        position = _rfind_command(text, candidate)
        if position > start:
            start, command = position, candidate
    if start < 0:
        return None
    i = start + len(command)
    while i < len(text) and text[i] in " \t":
        i += 1
    closed = True
    if i < len(text) and text[i] == "{":
        content = _balanced(text, i)
        closed = i + 1 + len(content) < len(text)  # the closing brace's index, when there is one
    else:  # \boxed 5: the next run of non-space characters
        match = re.match(r"[^\s$]+", text[i:])
        content = match.group(0) if match else ""
    content = content.strip()
    return (content, closed) if content else None


def _rfind_command(text: str, command: str) -> int:
    """Last position of a LaTeX command, skipping longer commands that share its prefix (\\fboxsep)."""
    end = len(text)
    while True:
        position = text.rfind(command, 0, end)
        if position < 0:
            return -1
        after = position + len(command)
        if after >= len(text) or not text[after].isalpha():
            return position
        end = position


def _balanced(text: str, open_brace: int) -> str:
    """Text inside the braces opening at `open_brace`, ignoring escaped ``\\{`` / ``\\}``; the rest if unclosed."""
    depth = 0
    i = open_brace
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace + 1 : i]
        i += 1
    return text[open_brace + 1 :]


def answer_is(text: str) -> str | None:
    """The X of the last "final answer is X" / "the answer is X" / "Answer: X", up to its sentence end."""
    last = None
    for last in _ANSWER_IS.finditer(text):  # noqa: B007 - only the final phrase counts
        pass
    if last is None:
        return None
    line_end = text.find("\n", last.end())
    answer = text[last.end() : line_end if line_end >= 0 else len(text)]
    end = _SENTENCE_END.search(answer)
    if end:
        answer = answer[: end.start()]
    return sentence_value(answer.strip().strip("*").strip())


def sentence_value(sentence: str) -> str | None:
    """The answer a sentence states: ``The largest $n$ is 34`` -> ``34``, ``the interval $[2,5)$`` -> ``[2,5)``.

    A sentence that opens with prose is cut after the first "is"/"are"/"equals"/"was" (outside math) that
    a value follows; one that opens with a number keeps it, reasons dropped (``5 because $x$ is odd`` ->
    ``5``). Of what is left, the math: the leading run of math segments joined only by "and", "or" or
    commas (as a list joined by ", ") when the text opens with one, else the last one.
    """
    sentence = sentence.strip().strip("*").strip()
    if not _VALUE_START.match(sentence):
        masked = _mask_math(sentence)
        for copula in _COPULA.finditer(masked):
            value = _SPACES.match(sentence, copula.end()).end()  # no slicing: linear in the sentence
            if _VALUE_START.match(sentence, value):
                sentence = sentence[value:]
                break
    sentence = sentence.strip().strip("*").strip()
    number_then_prose = _NUMBER_THEN_PROSE.match(sentence)
    if number_then_prose:  # "5 because $x$ is odd"
        return number_then_prose.group("number")
    segments = list(_MATH_SEGMENT.finditer(sentence))
    if not segments:
        return sentence or None
    run = [segments[0]]
    for left, right in itertools.pairwise(segments):
        if not _SEPARATOR.fullmatch(sentence[left.end() : right.start()]):
            break
        run.append(right)
    if segments[0].start() == 0 or len(run) == len(segments):
        return ", ".join(_segment_content(match) for match in run) or None
    return _segment_content(segments[-1]) or None


def _segment_content(match: re.Match) -> str:
    return next(group for group in match.groups() if group is not None).strip()


def _mask_math(text: str) -> str:
    """`text` with every math segment's content replaced by spaces (same length): prose-only searches."""
    return _MATH_SEGMENT.sub(lambda match: " " * (match.end() - match.start()), text)


def last_number(text: str) -> str | None:
    """The last number in the text (``-1,234.5``, ``.5``, ``3/4``), or the structure it belongs to.

    A number inside a relation, interval, set or matrix (``$x \\ge 3$``, ``$(2, 5]$``,
    ``\\begin{pmatrix}...``, plain ``x > 3``) stands for that whole answer, not for its last number.
    """
    last = None
    for last in _NUMBER.finditer(text):  # noqa: B007 - only the final match is wanted
        pass
    if last is None:
        return None
    # The math around it first: a matrix inside it may be one term of a sum of matrices.
    segment = _enclosing(_MATH_SEGMENT, text, last.start())
    if segment is not None:
        content = _segment_content(segment).rstrip(".,;").rstrip()  # the sentence's period is no part of it
        if _STRUCTURE.search(content):
            return content
    elif (matrix := _enclosing(_MATRIX, text, last.start())) is not None:
        return matrix.group(0)
    relation = _PLAIN_RELATION.search(text, max(0, last.start() - 40), last.end())
    if relation is not None and relation.end() == last.end():
        return relation.group(0)
    return last.group(0)


def _enclosing(pattern: re.Pattern, text: str, position: int) -> re.Match | None:
    """The match of `pattern` in `text` that holds `position`, or None."""
    for match in pattern.finditer(text):
        if match.start() <= position < match.end():
            return match
        if match.start() > position:
            return None
    return None


FALLBACKS: dict[str, Callable[[str], str | None]] = {"answer_is": answer_is, "last_number": last_number}


def all_boxed(text: str) -> list[str]:
    """The contents of every closed ``\\boxed{}`` / ``\\fbox{}`` in order (a box inside a box counts once)."""
    return [content for _, _, content in box_spans(text)]


def box_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every closed box, in order."""
    found = []
    position = 0
    while True:
        match = _BOX_START.search(text, position)
        if match is None:
            return found
        if text.startswith("{", match.end()):
            content = _balanced(text, match.end())
            end = match.end() + len(content) + 2
            if end > len(text) or text[end - 1] != "}":  # unclosed: not a finished answer
                return found
        else:
            brace_less = re.match(r"[^\s$]+", text[match.end() :])
            content = brace_less.group(0) if brace_less else ""
            end = match.end() + len(content)
        inner = last_boxed(content) if _BOX_START.fullmatch(content.split("{", 1)[0].strip() or "-") else None
        content = (inner if inner is not None else content).strip()
        if content:
            found.append((match.start(), end, content))
        position = end


def split_answer(completion: str) -> str | None:
    """Several boxes each holding one element (``\\boxed{(2,2)}`` and ``\\boxed{(6,2)}``), joined by ", ".

    None for fewer than two boxes or when a box holds a list itself. Only a gold answer with exactly as
    many elements may be compared with it (`rewards.math.reward`), so boxing extra guesses never pays.
    """
    boxes = [set_elements(box) for box in all_boxed(final_text(completion))]  # \boxed{\{1\}}: the element 1
    if len(boxes) < 2 or any(len(top_level_parts(box)) != 1 for box in boxes):
        return None
    return ", ".join(boxes)


def top_level_parts(answer: str) -> list[str]:
    """An answer's elements: split at commas outside brackets, after dropping set braces ``\\{...\\}``.

    ``(2,2),(6,2)`` -> 2 parts, ``\\{1,2,3\\}`` -> 3, ``(1,2]`` -> 1, ``1,000`` -> 1 (a thousands separator).
    """
    text = answer.strip().strip("$").strip()
    text = text[named.end() :] if (named := _NAMED_SET.match(text)) else text
    text = set_elements(text)
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0 and not _separates_thousands(text, start, i):
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def set_elements(text: str) -> str:
    """What a set written ``\\{...\\}`` or ``\\left\\{...\\right\\}`` lists; other text as it is."""
    for left, right in (("\\left\\{", "\\right\\}"), ("\\{", "\\}")):
        if text.startswith(left) and text.endswith(right) and len(text) >= len(left) + len(right):
            return text[len(left) : len(text) - len(right)].strip()
    return text


def _separates_thousands(text: str, start: int, comma: int) -> bool:
    """Whether the comma at `comma` is a thousands separator (``1,000``) inside the part opened at `start`."""
    if comma - start > 40:  # no number written with separators is this long: keep the split linear
        return False
    return bool(_THOUSANDS_HEAD.fullmatch(text, start, comma) and _THOUSANDS_TAIL.match(text, comma + 1))


def extract_answer(completion: str, fallbacks: Sequence[str] = ()) -> tuple[str | None, str]:
    """(answer, source): source is "boxed", the name of the fallback that found it, or "none"."""
    text = final_text(completion)
    box = _last_box(text)
    if box is not None:
        content, closed = box
        # An unclosed last box: the completion was cut off inside its answer, as harness and Math-Verify read it.
        return (content, BOXED) if closed else (None, NO_ANSWER)
    for name in fallbacks:
        found = FALLBACKS[name](text)
        if found is not None:
            return found, name
    return None, NO_ANSWER
