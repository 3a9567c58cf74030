"""Download names cut to a length every file system takes, whatever the title's script."""

from __future__ import annotations

import pytest

from api.filenames import export_filename


@pytest.mark.parametrize("word", ["long ", "Ünïcödé ", "🌍🌍 ", "長い題名 "])
def test_an_export_name_stays_under_100_characters_and_200_bytes_before_its_extension(word):
    name = export_filename(word * 200, "abc123", "json")
    stem = name.removesuffix(".json")
    assert 0 < len(stem) <= 100 and len(stem.encode()) <= 200
    assert (word * 200).startswith(stem) and stem == stem.strip()
