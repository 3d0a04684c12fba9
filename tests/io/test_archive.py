"""Zip uploads: extracted safely or refused with a message naming the entry."""
from __future__ import annotations

import io
import stat
import zipfile

import pytest

from imbal_core.io.archive import extract_zip
from imbal_core.report import LoadError, LoadReport


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


def patched_zip(path, members, *, method=None, encrypted=False, corrupt=None):
    """A stored zip whose entries claim compression ``method`` or the encryption flag (local and
    central headers alike), or whose entry ``corrupt`` has a damaged byte (its CRC fails)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = bytearray(path.read_bytes())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = data.find(signature)
        while start >= 0:
            if method is not None:
                data[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
            if encrypted:
                data[start + flag_at] |= 1
            start = data.find(signature, start + 4)
    if corrupt is not None:
        at = data.find(members[corrupt])
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


MEMBERS = {"data/a.txt": b"first entry", "data/b.txt": b"second entry"}


@pytest.mark.parametrize("options, entry, match", [
    ({"encrypted": True}, "data/a.txt", r"it is encrypted \(password-protected\)"),
    ({"method": 9}, "data/a.txt", r"it is compressed with method 9 \(Deflate64\), which cannot be read here"),
    ({"method": 93}, "data/a.txt", r"it is compressed with method 93 \(Zstandard\)"),
    ({"method": 99}, "data/a.txt", r"it is encrypted"),  # WinZip AES
    ({"corrupt": "data/b.txt"}, "data/b.txt", r"the entry is corrupt \(Bad CRC-32"),
])
def test_unreadable_entries_refuse_the_archive_naming_the_entry(tmp_path, options, entry, match):
    z = patched_zip(tmp_path / "export.zip", MEMBERS, **options)
    with pytest.raises(LoadError, match=rf"export\.zip: the entry '{entry}' cannot be extracted — {match}") as info:
        extract_zip(z, tmp_path / "out")
    assert info.value.file == str(z)
    assert not (tmp_path / "out" / entry).exists()  # no half-written file left behind


@pytest.mark.parametrize("options, skipped", [
    ({"corrupt": "data/b.txt"}, ["data/b.txt"]),
    ({"encrypted": True}, ["data/a.txt", "data/b.txt"]),
])
def test_with_a_report_unreadable_entries_are_skipped_and_the_rest_extracted(tmp_path, options, skipped):
    z = patched_zip(tmp_path / "export.zip", MEMBERS, **options)
    report = LoadReport()
    root = extract_zip(z, tmp_path / "out", report=report)
    assert [r.record for r in report] == skipped and {r.code for r in report} == {"bad_archive_entry"}
    assert all(r.file == str(z) and r.action == "skipped" for r in report)
    for name, data in MEMBERS.items():
        path = tmp_path / "out" / name
        assert path.read_bytes() == data if name not in skipped else not path.exists()
    assert root == tmp_path / "out" / "data" or skipped == list(MEMBERS)


@pytest.mark.parametrize("members, entry, clash", [
    ({"a.txt": b"x", "a.txt/x.txt": b"y"}, "a.txt/x.txt", "'a.txt' is a file in the archive, so it cannot also be a folder"),
    ({"d/a.txt": b"x", "d/a.txt/deep/x.txt": b"y"}, "d/a.txt/deep/x.txt", "'d/a.txt' is a file"),
    ({"a.txt/x.txt": b"y", "a.txt": b"x"}, "a.txt", "'a.txt' is a folder in the archive, so it cannot also be a file"),
    ({"a.txt": b"x", "a.txt/": b""}, "a.txt/", "'a.txt' is a file in the archive, so it cannot also be a folder"),
])
def test_clashing_entries(tmp_path, members, entry, clash):
    z = make_zip(tmp_path / "clash.zip", members)
    with pytest.raises(LoadError, match=rf"clash\.zip: the entry '{entry}' cannot be extracted — {clash}"):
        extract_zip(z, tmp_path / "out")
    report = LoadReport()
    extract_zip(z, tmp_path / "out2", report=report)
    assert [(r.record, r.code) for r in report] == [(entry, "bad_archive_entry")]
    first = next(iter(members))
    assert (tmp_path / "out2" / first).exists()  # the first of the two is kept


def test_long_entry_names_are_quoted_short(tmp_path):
    z = patched_zip(tmp_path / "long.zip", {"x" * 5000 + ".txt": b"x"}, encrypted=True)
    with pytest.raises(LoadError) as info:
        extract_zip(z, tmp_path / "out")
    assert len(str(info.value)) < 300 and "…" in str(info.value)
