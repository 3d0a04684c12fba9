"""Server paths typed in the app stay below the data root."""
from __future__ import annotations

import pytest

from imbal_core.io.paths import resolve_in_root
from imbal_core.report import LoadError


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "exports").mkdir(parents=True)
    (tmp_path / "root" / "exports" / "a.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("no")
    (tmp_path / "root" / "link").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "root" / "inner-link").symlink_to(tmp_path / "root" / "exports")
    return tmp_path / "root"


@pytest.mark.parametrize("text", ["exports/a.json", " exports/a.json ", "'exports/a.json'", "exports/../exports/a.json"])
def test_inside(root, text):
    assert resolve_in_root(text, root) == (root / "exports" / "a.json").resolve()


def test_a_symlink_that_stays_inside_is_fine(root):
    assert resolve_in_root("inner-link", root) == (root / "exports").resolve()


@pytest.mark.parametrize(
    "text, match",
    [
        ("../secret.txt", r"refused — it is outside the data root"),
        ("link", r"refused — it is outside the data root"),
        ("/etc/hostname", r"refused — it is outside the data root"),
        ("exports/missing.json", r"no such file or folder below the data root"),
        ("", r"Give a path"),
    ],
)
def test_refused(root, text, match):
    with pytest.raises(LoadError, match=match):
        resolve_in_root(text, root)


def test_a_nul_character_is_refused_naming_the_text(tmp_path):
    with pytest.raises(LoadError, match=r"a\x00b: cannot be opened \(embedded null byte\)") as info:
        resolve_in_root("a\x00b", tmp_path)
    assert info.value.file == "a\x00b"
