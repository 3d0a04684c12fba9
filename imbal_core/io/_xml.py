"""XML for the readers: streamed, with no entity expansion, and a reason when a file is refused.

:func:`read_children` parses a document with the standard library's expat parser (as
:mod:`.voc`) and hands each completed child of the root element to a callback as a small tree,
then drops it, so a large export is never held as one tree.

Hostile input: a document type declaration that declares entities (``<!ENTITY``: the
"billion laughs" and external-entity attacks) is refused before parsing, as defusedxml refuses
it; annotation exports never declare entities. Expat itself does not fetch external entities.
When parsing fails on bytes that are not UTF-8 in a document that declares no encoding or
UTF-8, they are replaced (one ``not_utf8`` report row) and the file is parsed again, as
:mod:`.voc` does. A declared encoding expat cannot use (unknown to it, or multi-byte such as
Shift_JIS) is decoded by Python; one Python does not know either is read as UTF-8, reported.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Callable

from ..report import LoadReport
from .files import decode_text, declared_text

_CHUNK = 1 << 20
_HEAD = 1 << 16  # the prolog (DTD) is looked for in the first bytes
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']*)", re.IGNORECASE)


class BadXml(ValueError):
    """A file that is not usable XML; the message says why, in words for the report."""


def read_children(data: bytes, path: object, report: LoadReport, root_tag: str,
                  on_child: Callable[[ET.Element], None], restart: Callable[[], None]) -> None:
    """Parse ``data`` and call ``on_child`` with each completed child of the root element.

    The root must be ``<root_tag>``. ``restart`` is called before a second pass (after invalid
    UTF-8 was replaced, or with the text Python decoded), so the caller can forget what the first
    pass gave it. Raises
    :class:`BadXml` when the file is empty, declares entities, is not well-formed or has
    another root.
    """
    if not data.strip():
        raise BadXml("the file is empty")
    if _declares_entities(data):
        raise BadXml("the document declares entities (<!ENTITY>), which an export never does; refused")
    try:
        _stream(data, root_tag, on_child)
        return
    except BadXml:
        raise
    except ET.ParseError as exc:
        first_error = exc
    except (LookupError, ValueError) as exc:  # an encoding expat cannot use (unknown, multi-byte): decoded here
        if not isinstance(exc, LookupError) and "encoding" not in str(exc):
            raise
        restart()
        try:
            _stream(declared_text(data, path, report), root_tag, on_child)
            return
        except ET.ParseError as exc:
            raise BadXml(f"not well-formed XML ({exc})") from None
    declared = _DECLARED_ENCODING.match(data)
    if declared is None or declared.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            restart()
            try:
                _stream(decode_text(data, path, report).encode("utf-8"), root_tag, on_child)
                return
            except ET.ParseError as exc:
                first_error = exc
    raise BadXml(f"not well-formed XML ({first_error})")


def _declares_entities(data: bytes) -> bool:
    """``<!ENTITY`` in the prolog (before the root element), in UTF-8 / 8-bit or UTF-16 / 32 text."""
    head = data[:_HEAD]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        for codec in ("utf-32", "utf-16", "utf-16-le", "utf-16-be"):
            try:
                text = head.decode(codec, errors="ignore")
            except UnicodeError:
                continue
            if text.lstrip("\ufeff").startswith("<"):
                head = text.encode("utf-8", errors="ignore")
                break
    prolog = head[: (m.start() if (m := _FIRST_ELEMENT.search(head)) else len(head))]
    return _ENTITY.search(prolog) is not None


def _stream(data: bytes | str, root_tag: str, on_child: Callable[[ET.Element], None]) -> None:
    parser = ET.XMLParser(target=_ChildBuilder(root_tag, on_child))
    for start in range(0, len(data), _CHUNK):
        parser.feed(data[start:start + _CHUNK])
    parser.close()


class _ChildBuilder:
    """A parser target that builds each child of the root as its own small tree, hands it on,
    and forgets it (measured twice as fast as :class:`~xml.etree.ElementTree.XMLPullParser`)."""

    def __init__(self, root_tag: str, on_child: Callable[[ET.Element], None]):
        self.root_tag = root_tag
        self.on_child = on_child
        self.depth = 0
        self.builder = ET.TreeBuilder()

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        if self.depth == 1:
            if tag != self.root_tag:
                raise BadXml(f"the root element is <{tag:.40}>, not <{self.root_tag}>")
            return
        if self.depth == 2:
            self.builder = ET.TreeBuilder()
        self.builder.start(tag, attrib)

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.depth >= 1:
            element = self.builder.end(tag)
            if self.depth == 1:
                self.on_child(element)

    def data(self, text: str) -> None:
        if self.depth >= 2:
            self.builder.data(text)

    def close(self) -> None:
        return None
