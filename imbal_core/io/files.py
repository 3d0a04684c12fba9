"""Reading files for the readers: bytes, text with a report for bad encodings, split names, and
untrusted structured documents — JSON, YAML, XML — parsed with bounds.

Every parser here turns what a hostile file can do to a parser into a :class:`LoadError` naming the
file: nesting too deep for the parser (JSON, YAML), YAML aliases that expand to more values than
:data:`MAX_YAML_VALUES` (an "alias bomb": a few hundred bytes that a consumer walking or printing
the result would expand to gigabytes), an XML encoding the parser does not know (read as UTF-8,
reported). Callers in other packages (plan targets, hierarchy mappings) use them too.
"""
from __future__ import annotations

import codecs
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import msgspec

from ..report import LoadError, LoadReport, excerpt, safe_text, shorten

#: The most values a YAML document may hold once its aliases are expanded.
MAX_YAML_VALUES = 1_000_000
_XML_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\bencoding\s*=\s*(['\"])([^'\"]{0,100})\1")

_SPLIT_IN_NAME = re.compile(r"(?<![a-z])(train|training|val|valid|validation|test|testing|dev)(?![a-z])")


def split_from_name(path: str | Path) -> str | None:
    """``instances_val2014.json`` -> ``val``; ``trainval.json`` -> None (ambiguous: not a word of its own)."""
    name = Path(path).name.lower()
    found = {m.group(1) for m in _SPLIT_IN_NAME.finditer(name)}
    if len(found) != 1:
        return None
    from ..dataset import normalize_split

    return normalize_split(found.pop())


def read_bytes(path: str | Path) -> bytes:
    """The whole file, or :class:`LoadError` naming it and why it cannot be read."""
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise LoadError(f"{path}: is a folder, not a file.", file=str(path)) from None
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file.", file=str(path)) from None
    except PermissionError:
        raise LoadError(f"{path}: permission denied.", file=str(path)) from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc}).", file=str(path)) from None


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write an output file, or :class:`LoadError` naming it and why it cannot be written (a
    folder, a missing parent folder, no permission, a full disk)."""
    try:
        Path(path).write_bytes(data)
    except IsADirectoryError:
        raise LoadError(f"{safe_name(path)}: is a folder; give a file name to write to.", file=safe_name(path)) from None
    except FileNotFoundError:
        raise LoadError(f"{safe_name(path)}: cannot be written — its folder does not exist.",
                        file=safe_name(path)) from None
    except OSError as exc:
        raise LoadError(f"{safe_name(path)}: cannot be written ({exc.strerror or exc}).", file=safe_name(path)) from None


def decode_text(data: bytes, path: str | Path, report: LoadReport) -> str:
    """UTF-8 text (a BOM is dropped). Invalid bytes are replaced by U+FFFD and reported once per file."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.add(
            path,
            f"byte {exc.start}",
            "not_utf8",
            f"text is not valid UTF-8 (first bad byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "replaced invalid bytes",
        )
        return data.decode("utf-8", errors="replace")


def read_text(path: str | Path, report: LoadReport) -> str:
    return decode_text(read_bytes(path), path, report)


def parse_json(data: bytes, path: str | Path, report: LoadReport) -> Any:
    """Parse JSON: msgspec first (fast); on failure the standard library, which also accepts the
    ``NaN`` / ``Infinity`` that Python's own ``json.dump`` writes; non-UTF-8 bytes are replaced
    and reported. Anything else raises :class:`LoadError` with the position.

    An escaped lone surrogate (``"\\udcff"``: valid JSON, but no character) is kept as the text
    ``\\udcff`` and reported once per file (``lone_surrogate``): nothing downstream (Arrow, JSON
    output, a terminal) can encode the surrogate itself."""
    if not data.strip():
        raise LoadError(f"{path}: the file is empty.", report, str(path))
    truncated = False
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        truncated = "truncated" in str(exc)
    except UnicodeDecodeError:
        pass
    except RecursionError:
        raise LoadError(f"{path}: not valid JSON — nested too deeply.", report, str(path)) from None
    text = decode_text(data, path, report)
    try:
        return _without_lone_surrogates(json.loads(text), data, path, report)
    except json.JSONDecodeError as exc:
        at_end = truncated or exc.pos >= len(text.rstrip()) - 1
        reason = "it ends early (truncated?)" if at_end else exc.msg
        raise LoadError(
            f"{path}: not valid JSON — {reason} at line {exc.lineno}, column {exc.colno}.", report, str(path)
        ) from None
    except RecursionError:
        raise LoadError(f"{path}: not valid JSON — nested too deeply.", report, str(path)) from None
    except ValueError as exc:  # e.g. an integer past Python's 4,300-digit limit
        raise LoadError(f"{path}: not valid JSON — {_value_problem(exc)}.", report, str(path)) from None


def _without_lone_surrogates(doc: Any, data: bytes, path: str | Path, report: LoadReport) -> Any:
    """``doc`` with every text holding a lone surrogate (from a ``\\ud800``-``\\udfff`` escape
    without its pair) rewritten with ``\\uXXXX`` escapes, and one report row; unchanged (and not
    walked) when the bytes hold no such escape."""
    if b"\\ud" not in data and b"\\uD" not in data:
        return doc
    found: list[str] = []

    def fixed(text: str) -> str:
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
            found.append(text)
            return text

    if isinstance(doc, str):
        doc = fixed(doc)
    stack = [doc] if isinstance(doc, (list, dict)) else []
    while stack:  # not recursive: the document may nest as deeply as the parser allowed
        node = stack.pop()
        if isinstance(node, dict):
            items = [(fixed(k) if isinstance(k, str) else k, v) for k, v in node.items()]
            if any(new is not old for (new, _), old in zip(items, node)):
                node.clear()
                node.update(items)
            for key, value in node.items():
                if isinstance(value, str):
                    node[key] = fixed(value)
                elif isinstance(value, (list, dict)):
                    stack.append(value)
        else:
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = fixed(value)
                elif isinstance(value, (list, dict)):
                    stack.append(value)
    if found:
        report.add(path, found[0], "lone_surrogate",
                   f"{len(found):,} text value(s) hold an escaped lone surrogate (\\ud800-\\udfff "
                   "without its pair), which is no character; the first is the record", "kept as \\uXXXX text")
    return doc


def parse_yaml(text: str, path: str | Path, report: LoadReport | None = None) -> Any:
    """Parse YAML with PyYAML's safe loader, bounded: aliases may not make the document hold more
    than :data:`MAX_YAML_VALUES` values, nor refer to themselves. Anything else PyYAML refuses
    (``yaml.YAMLError``: a control character such as NUL, bad syntax, an unknown tag ...) raises
    :class:`LoadError` with the problem and, where PyYAML gives it, the line and column. A document
    that is JSON (it starts with ``{`` or ``[`` and parses as JSON) is read by the JSON parser."""
    import yaml

    report = report if report is not None else LoadReport()
    if text.lstrip()[:1] in ("{", "["):  # JSON is YAML: read as JSON, a thousand times faster (a COCO file
        try:                              # given by mistake takes minutes in PyYAML)
            return msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError):
            pass  # flow-style YAML (`[a, b]`), or JSON too deep for msgspec: PyYAML decides
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses control characters (a NUL byte) here already
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _yaml_expansion_problem(node)
        if problem:
            raise LoadError(f"{path}: not usable YAML — {problem}.", report, str(path))
        try:
            return loader.construct_document(node)
        except (AttributeError, TypeError, OverflowError, IndexError, KeyError) as exc:
            # PyYAML's own constructors fail so on some malformed values (a timestamp of year 99999)
            raise LoadError(f"{path}: not usable YAML — a value cannot be read ({type(exc).__name__}: "
                            f"{shorten(str(exc), 120)}).", report, str(path)) from None
    except RecursionError:
        raise LoadError(f"{path}: not valid YAML — nested too deeply.", report, str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LoadError(f"{path}: not valid YAML — {problem}{where}.", report, str(path)) from None
    except ValueError as exc:  # a constructor's own error, e.g. an integer past Python's 4,300-digit limit
        raise LoadError(f"{path}: not usable YAML — {_value_problem(exc)}.", report, str(path)) from None
    finally:
        if loader is not None:
            loader.dispose()


def _value_problem(exc: ValueError) -> str:
    """A parser's ValueError in words: Python's own limit on integer digits is named plainly."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "integer string conversion" in text:
        return f"a number has more than {sys.get_int_max_str_digits():,} digits"
    return text


def _yaml_expansion_problem(root: Any) -> str | None:
    """Why the node graph cannot be constructed safely (an alias bomb, a self-reference), or None.

    Counts the values each node stands for once aliases are expanded, visiting each node once
    (aliases make the graph a DAG: the count is computed, never the expansion)."""
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _yaml_children(node)
        if done:
            open_nodes.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), MAX_YAML_VALUES + 1)
            if size[key] > MAX_YAML_VALUES:
                return (f"its aliases expand it to more than {MAX_YAML_VALUES:,} values "
                        f"(near line {node.start_mark.line + 1}; an alias bomb?)")
            continue
        if key in size:
            continue
        if key in open_nodes:
            return f"an alias refers to a value that holds it (near line {node.start_mark.line + 1})"
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)
    return None


def _yaml_children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class BadXML(LoadError):
    """An XML file that cannot be parsed; ``reason`` says why, without the file name."""

    def __init__(self, reason: str, report: LoadReport, path: str | Path):
        super().__init__(f"{path}: {reason}.", report, str(path))
        self.reason = reason


def parse_xml(data: bytes, path: str | Path, report: LoadReport) -> ET.Element:
    """The root element of an XML file, or :class:`BadXML`.

    The declared encoding is honoured; one the XML parser cannot use (unknown to Python, not a
    text encoding, or multi-byte such as Shift_JIS) is decoded by Python when it can, else the
    file is read as UTF-8 and that is reported (``unknown_encoding``). Bytes that are not UTF-8
    in a file declaring no encoding are replaced and reported (:func:`decode_text`).
    """
    if not data.strip():
        raise BadXML("the file is empty", report, path)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        first_error = exc
    except (LookupError, ValueError):  # an encoding expat cannot read; UnicodeError is a ValueError
        return _parse_xml_text(declared_text(data, path, report), path, report)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # bytes that are neither UTF-8 nor the declared encoding: replaced, reported
        return _parse_xml_text(decode_text(data, path, report), path, report)
    raise BadXML(f"not well-formed XML ({first_error})", report, path)


def _parse_xml_text(text: str, path: str | Path, report: LoadReport) -> ET.Element:
    try:
        return ET.fromstring(text)  # text: the declared encoding is not used again
    except ET.ParseError as exc:
        raise BadXML(f"not well-formed XML ({exc})", report, path) from None


def declared_text(data: bytes, path: str | Path, report: LoadReport) -> str:
    """An XML document decoded with its declared encoding; one that cannot decode it is reported
    (``unknown_encoding``) and the bytes are read as UTF-8."""
    match = _XML_ENCODING.match(data)
    name = match.group(2).decode("ascii", errors="replace") if match else ""
    try:
        info = codecs.lookup(name)
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(name)
        return data.decode(info.name)
    except (LookupError, ValueError):
        report.add(path, "", "unknown_encoding",
                   f"the XML declares the encoding {excerpt(name)}, which cannot decode it", "read as UTF-8")
    return decode_text(data, path, report)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value: Any) -> float | None:
    """A number as float; numeric text is accepted; anything else None."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def safe_name(path: str | Path) -> str:
    """``path`` as text that can go anywhere (an Arrow column, JSON, a message): the bytes of a
    name that are not UTF-8 are shown as ``\\xff`` (:func:`~imbal_core.report.safe_text`). A valid
    name comes back unchanged."""
    return safe_text(str(path))


def skip_undecodable_name(path: str | Path, report: LoadReport, record: str | Path | None = None) -> bool:
    """True, with one ``undecodable_name`` report row, when ``record`` (the part of ``path`` below
    the folder given; by default ``path``) is not valid UTF-8: the reader skips that file."""
    name = str(record if record is not None else path)
    shown = safe_name(name)
    if shown == name:
        return False
    report.add(safe_name(path), shown, "undecodable_name",
               f"the name '{shown}' is not valid UTF-8 (bytes shown as \\x escapes); rename it to read it", "skipped")
    return True
