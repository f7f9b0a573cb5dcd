"""Every measured number the README states comes from benchmarks/RESULTS.md: a check that fails when they drift.

A README paragraph, list or table that states measured numbers is preceded by a comment naming the
RESULTS.md sections it quotes, `<!-- results: credit.py; quickstart -->`; the comment covers it up to the
next blank line. Each number in a covered block (a paragraph, a list item, a table row) must appear as a
number in one of the named sections (`## ` headings outside code fences, matched exactly). The quickstart
paragraph and the whole of "When GN-IVO helps" (its settings table included) must be covered.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MARKER = re.compile(r"<!--\s*results:\s*(.+?)\s*-->")
# A number standing alone: not part of a name (SmolLM2, K=8 is fine: `8` stands alone after `=`).
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?(?![\w])")
#: The README blocks that must cite their numbers: by the text they start with, or a whole section.
QUICKSTART_PARAGRAPH = "What the quickstart shows"
CHECKED_SECTION = "## When GN-IVO helps"


def numbers(text: str, *, prose: bool = True) -> set[str]:
    """The numbers of a text, thousands separators and trailing zeros of decimals aside (1,920 = 1920).

    In prose (the README), code spans name settings (`num_iterations: 2`), quotes show what a model
    wrote ("3 + 4 = 7") and link targets are addresses: none of them is a result, all are skipped.
    """
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    if prose:
        text = re.sub(r"`[^`\n]*`", " ", text)
        text = re.sub(r"\]\([^)]*\)", "]", text)
        text = re.sub(r'"[^"\n]*"', " ", text)
    return {_canonical(found) for found in NUMBER.findall(text.rstrip("."))}


def _canonical(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number and "e" not in number else number


def results_sections(text: str) -> dict[str, str]:
    """RESULTS.md by `## ` heading (headings inside code fences, e.g. printed output, are content)."""
    sections: dict[str, list[str]] = {}
    current, fenced = None, False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = line[3:].strip()
            if current in sections:
                raise AssertionError(f"RESULTS.md has two sections named {current!r}")
            sections[current] = []
            continue
        if current is not None:
            sections[current].append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def readme_blocks(text: str) -> list[tuple[int, str, list[str] | None, str]]:
    """(line, block text, the sections cited for it or None, the `## ` section it is in) per README block."""
    blocks, current, cited, section = [], [], None, ""
    start = 0

    def close() -> None:
        if current:
            blocks.append((start, "\n".join(current), cited, section))
            current.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        marker = MARKER.search(line)
        if marker:
            close()
            cited = [name.strip() for name in marker.group(1).split(";")]
        elif line.startswith("#"):
            close()
            cited, section = None, line.strip()
        elif not line.strip():
            close()
            cited = None  # a comment covers its paragraph, list or table: up to the next blank line
        elif line.startswith(("- ", "|")):
            close()  # a list item or a table row is a block of its own, under the same comment
            current.append(line)
            start = number
        else:
            if not current:
                start = number
            current.append(line)
    close()
    return blocks


def test_the_readme_numbers_come_from_the_results_sections_they_cite():
    sections = results_sections(RESULTS.read_text(encoding="utf-8"))
    problems = []
    for line, block, cited, _ in readme_blocks(README.read_text(encoding="utf-8")):
        if cited is None:
            continue
        missing = [name for name in cited if name not in sections]
        if missing:
            problems.append(f"README.md:{line}: cites {missing}, not a RESULTS.md section")
            continue
        quoted = set().union(*(numbers(sections[name], prose=False) for name in cited))
        stray = sorted(numbers(block) - quoted, key=lambda n: (len(n), n))
        if stray:
            problems.append(f"README.md:{line}: {', '.join(stray)} not in RESULTS.md {cited}: {block[:70]!r}")
    assert not problems, "\n".join(problems)


def test_the_quickstart_paragraph_and_when_gnivo_helps_are_covered():
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    quickstart = [b for b in blocks if b[1].startswith(QUICKSTART_PARAGRAPH)]
    assert quickstart, f"README.md: no paragraph starts with {QUICKSTART_PARAGRAPH!r}"
    uncovered = [b for b in quickstart if b[2] is None]
    uncovered += [b for b in blocks if b[3] == CHECKED_SECTION and b[2] is None and numbers(b[1])]
    assert not uncovered, "README blocks with numbers but no <!-- results: ... --> comment: " + "; ".join(
        f"line {line}: {text[:60]!r}" for line, text, _, _ in uncovered
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.866 ± 0.010 over 1,920 samples; 5 seeds", {"0.866", "0.01", "1920", "5"}),
        ("SmolLM2-135M, K=8, `num_iterations: 2`, lr 1e-4", {"8", "1e-4"}),
        ('ends at 0.90 (see [x](y#3)); it wrote "3 + 4 = 7"', {"0.9"}),
    ],
)
def test_numbers_are_read_as_a_reader_reads_them(text, expected):
    assert numbers(text) == expected


def test_a_drifted_number_is_caught(tmp_path):
    results = "# R\n\n## s.py\n\n```\n## s.py: printed\n| a | 0.866 |\n```\n\n## other\n0.5\n"
    sections = results_sections(results)
    assert set(sections) == {"s.py", "other"} and "0.866" in numbers(sections["s.py"], prose=False)
    readme = "## When GN-IVO helps\n\n<!-- results: s.py -->\n- ends at 0.866\n- and 0.5\n\nThen 0.7.\n"
    (line, block, cited, _), (_, second, _, _), (_, _, after, _) = readme_blocks(readme)
    assert after is None  # the comment covers its list only
    assert line == 4 and cited == ["s.py"] and numbers(block) <= numbers(sections["s.py"], prose=False)
    assert numbers(second) - numbers(sections["s.py"], prose=False) == {"0.5"}  # in another section: a drift
