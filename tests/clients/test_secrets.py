"""Secret sources: their text never reaches a repr, and a rotated file is picked up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clients.secrets import EnvSecret, FileSecret, SecretSource, SecretUnavailable, StaticSecret

VALUE = "s3cr3t-value-that-must-not-leak"


def test_static_secret_reveals_its_value_but_never_shows_it() -> None:
    secret = StaticSecret(VALUE)

    assert secret.reveal() == VALUE
    assert VALUE not in repr(secret)
    assert VALUE not in str(secret)
    assert VALUE not in f"{secret}"
    assert VALUE not in repr([secret, {"k": secret}])


def test_file_secret_reveals_the_stripped_file_but_never_shows_it(tmp_path: Path) -> None:
    path = tmp_path / "client_secret"
    path.write_text(f"{VALUE}\n", encoding="utf-8")
    secret = FileSecret(path)

    assert secret.reveal() == VALUE
    assert VALUE not in repr(secret)
    assert VALUE not in str(secret)
    assert str(path) in repr(secret)


def test_env_secret_reads_the_variable_at_each_use_but_never_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOBIUS_TEST_SECRET", VALUE)
    secret = EnvSecret("MOBIUS_TEST_SECRET")

    assert secret.reveal() == VALUE
    assert VALUE not in repr(secret)
    assert VALUE not in str(secret)

    monkeypatch.setenv("MOBIUS_TEST_SECRET", "rotated")
    assert secret.reveal() == "rotated"


def test_an_unset_env_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOBIUS_TEST_SECRET_UNSET", raising=False)

    with pytest.raises(LookupError, match="MOBIUS_TEST_SECRET_UNSET"):
        EnvSecret("MOBIUS_TEST_SECRET_UNSET").reveal()


def test_file_secret_picks_up_a_rewritten_file_on_the_next_reveal(tmp_path: Path) -> None:
    path = tmp_path / "api_key"
    path.write_text("first-value", encoding="utf-8")
    secret = FileSecret(path)
    assert secret.reveal() == "first-value"

    path.write_text("second-value-longer", encoding="utf-8")
    assert secret.reveal() == "second-value-longer"


def test_file_secret_picks_up_a_later_rotation_to_a_value_of_the_same_length(tmp_path: Path) -> None:
    path = tmp_path / "api_key"
    path.write_text("key-aaaa", encoding="utf-8")
    secret = FileSecret(path)
    assert secret.reveal() == "key-aaaa"

    path.write_text("key-bbbb", encoding="utf-8")
    later = path.stat().st_mtime_ns + 1_000_000_000  # a rotation a second later, whatever the fs granularity
    os.utime(path, ns=(later, later))

    assert secret.reveal() == "key-bbbb"


def test_file_secret_keeps_its_value_while_the_file_is_rewritten_in_place(tmp_path: Path) -> None:
    path = tmp_path / "api_key"
    path.write_text("first-value", encoding="utf-8")
    secret = FileSecret(path)
    assert secret.reveal() == "first-value"

    path.write_text("", encoding="utf-8")  # truncated, the new value not yet written
    assert secret.reveal() == "first-value"

    path.write_text("second-value", encoding="utf-8")
    assert secret.reveal() == "second-value"


def test_an_empty_file_secret_with_no_value_before_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "api_key"
    path.write_text("\n", encoding="utf-8")

    with pytest.raises(SecretUnavailable, match="empty"):
        FileSecret(path).reveal()


def test_file_secret_reports_a_missing_file_by_path(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailable, match="absent"):
        FileSecret(tmp_path / "absent").reveal()


def test_every_source_satisfies_the_protocol(tmp_path: Path) -> None:
    sources = [StaticSecret("x"), EnvSecret("X"), FileSecret(tmp_path / "x")]

    assert all(isinstance(source, SecretSource) for source in sources)
