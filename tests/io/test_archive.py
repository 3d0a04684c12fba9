"""Zip uploads: extracted safely or refused with a message naming the entry."""
from __future__ import annotations

import io
import stat
import zipfile

import pytest

from imbal_core.io.archive import extract_zip
from imbal_core.report import LoadError


def make_zip(path, members, compression=zipfile.ZIP_DEFLATED, symlink=None):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, symlink[1])
    return path


def test_extracts_and_descends_into_a_single_top_folder(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"garbage/data.yaml": b"names: [a]", "garbage/train/labels/x.txt": b"0 .5 .5 .1 .1"})
    root = extract_zip(z, tmp_path / "out")
    assert root == tmp_path / "out" / "garbage"
    assert (root / "train" / "labels" / "x.txt").read_bytes() == b"0 .5 .5 .1 .1"


@pytest.mark.parametrize(
    "members, kwargs, match",
    [
        ({"../escape.txt": b"x"}, {}, r"'\.\./escape\.txt' would be written outside"),
        ({"a/../../escape.txt": b"x"}, {}, r"would be written outside"),
        ({"/abs.txt": b"x"}, {}, r"'/abs\.txt' would be written outside"),
        ({"C:/win.txt": b"x"}, {}, r"would be written outside"),
        ({f"f{i}.txt": b"x" for i in range(5)}, {"max_files": 4}, r"5 entries, more than the limit of 4"),
        ({"big.bin": b"1" * 5000}, {"max_bytes": 4000}, r"would unpack to"),
        ({"bomb.txt": b"0" * (4 << 20)}, {}, r"compressed [\d,]+ times .* a zip bomb\?"),
    ],
)
def test_hostile_archives_are_refused(tmp_path, members, kwargs, match):
    z = make_zip(tmp_path / "evil.zip", members)
    with pytest.raises(LoadError, match=match) as info:
        extract_zip(z, tmp_path / "out", **kwargs)
    assert "evil.zip" in str(info.value)
    assert not (tmp_path / "escape.txt").exists()


def test_symlink_entries_are_refused(tmp_path):
    z = make_zip(tmp_path / "evil.zip", {"ok.txt": b"x"}, symlink=("link", "/etc/passwd"))
    with pytest.raises(LoadError, match=r"'link' is a symbolic link"):
        extract_zip(z, tmp_path / "out")


def test_lying_sizes_are_caught_while_writing(tmp_path, monkeypatch):
    z = make_zip(tmp_path / "a.zip", {"a.bin": b"1" * 3000, "b.bin": b"2" * 3000}, compression=zipfile.ZIP_STORED)
    original = zipfile.ZipFile.infolist

    def lying(self):
        infos = original(self)
        for i in infos:
            i.file_size = 10  # declared small
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying)
    with pytest.raises(LoadError):
        extract_zip(z, tmp_path / "out", max_bytes=4000)


def test_not_a_zip(tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"PK\x03\x04 but not really")
    with pytest.raises(LoadError, match=r"x\.zip: not a readable zip archive"):
        extract_zip(bad, tmp_path / "out")
