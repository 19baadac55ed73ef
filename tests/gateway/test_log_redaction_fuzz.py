"""Log redaction against hostile text: secrets embedded in generated noise are masked, and strings
built to stall a backtracking pattern (up to 1 MB) are redacted and cut, with bounded output."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mobius.logging import (
    _SECRET_LOOKING,
    MAX_LINE,
    MAX_TEXT,
    REDACTED,
    _redact_line,
    _redact_pairs,
    redact,
    redact_text,
)

SECRET = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789", min_size=12, max_size=40)
NOISE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\n"), max_size=300
)
SHAPES = (
    "token={}",
    "api_key: {}",
    '"client_secret": "{}"',
    "Authorization: Bearer {}",
    "X-Api-Key={}",
    "password={}",
)
BOUND = MAX_TEXT + 64


@settings(max_examples=200, deadline=None)
@given(before=NOISE, after=NOISE, secret=SECRET, shape=st.sampled_from(SHAPES))
def test_a_secret_in_any_noise_is_masked(before: str, after: str, secret: str, shape: str) -> None:
    assume(secret not in before and secret not in after)
    text = f"{before} {shape.format(secret)} {after}"
    redacted = redact_text(text)
    assert secret not in redacted
    assert REDACTED in redacted


@settings(max_examples=100, deadline=None)
@given(before=NOISE, secret=SECRET)
def test_a_jwt_anywhere_is_masked(before: str, secret: str) -> None:
    assume(secret not in before)
    jwt = f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.{secret}"
    assert secret not in redact_text(f"{before} {jwt} trailing")


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=20_000))
def test_any_text_is_redacted_to_a_bounded_length(text: str) -> None:
    assert len(redact_text(text)) <= BOUND + (len(text) // MAX_LINE + 1) * 40


PLAIN_PIECES = st.sampled_from(
    ["Bearer", "basic", "sk", "SK", "v1", "eyJ", "eyJhbGci", "token", "-", "0" * 16, "deadbeef"]
)
PLAIN_WORDS = st.lists(PLAIN_PIECES | st.text(alphabet="abcdefxyzABCDEFXYZ0123456789-"), max_size=12).map(
    lambda pieces: "".join(pieces)[:39]
)


@settings(max_examples=300, deadline=None)
@given(word=PLAIN_WORDS)
def test_a_plain_word_skipped_by_the_redactor_is_one_no_pattern_changes(word: str) -> None:
    assert _redact_line(word) == word == _redact_pairs(_SECRET_LOOKING.sub(REDACTED, word))


WORST_CASES = {
    "long unknown key": "a" * 1_000_000 + "=1",
    "hyphenated run": "a-" * 500_000 + "=",
    "token-like repeats": "token" * 200_000,
    "token-like repeats then a pair": "token" * 200_000 + "=hunter2",
    "JWT-like prefixes": "eyJ-" * 250_000,
    "JWT-like dots": "eyJ." * 250_000,
    "hex run then a letter": "f" * 1_000_000 + "g",
    "Bearer repeats": "Bearer " * 150_000,
    "spaces before a separator": "token" + " " * 1_000_000 + "x",
    "many short lines": "token=hunter2\n" * 80_000,
}


@pytest.mark.parametrize("text", list(WORST_CASES.values()), ids=list(WORST_CASES))
def test_worst_cases_of_a_megabyte_are_redacted_and_cut(text: str) -> None:
    redacted = redact_text(text)
    assert len(redacted) <= BOUND
    assert "hunter2" not in redacted


def test_a_secret_early_in_a_megabyte_line_is_masked_and_the_rest_cut() -> None:
    redacted = redact_text("api_key=opaque-value " + "x" * 1_000_000)
    assert "opaque-value" not in redacted
    assert redacted.endswith("more characters]")


def test_hostile_structures_are_bounded_in_depth_width_and_key_length() -> None:
    nested: object = "leaf"
    for _ in range(500):
        nested = {"inner": nested}
    wide = {f"k{i}": i for i in range(10_000)}
    long_key = {"k" * 100_000: "value", "x" * 10_000 + "password": "hunter2"}
    redacted = redact({"nested": nested, "wide": wide, "long_key": long_key})
    assert len(str(redacted)) < 100_000
    assert "hunter2" not in str(redacted)
