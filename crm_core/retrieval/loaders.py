"""Read knowledge files into units: one per markdown/docx section, FAQ row or text chunk."""

from __future__ import annotations

import csv
import io
import re
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crm_core.archives import ArchiveTooLarge, ArchiveUnreadable, check_archive, read_member
from crm_core.retrieval.errors import (
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    IngestError,
    MissingColumns,
    UnknownEncoding,
    UnsafePath,
    UnsupportedType,
)
from crm_core.textnorm import clean_text, fold, nfc

MAX_FILE_BYTES = 20 * 1024 * 1024
# A .docx or .xlsx whose parts unzip to more than this is refused (a zip bomb, not a business document).
# Counted while decompressing: the sizes an archive declares are the attacker's to write.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
# The encodings a knowledge text file may be in: Unicode, or the Windows code pages of Vietnamese and
# Western text. Guessing among more (cp1257, mac_roman…) mostly finds wrong ones that also decode.
TEXT_ENCODINGS = ("utf_8", "utf_16", "utf_32", "cp1258", "cp1252")
# The most "mess" (charset-normalizer's chaos, 0-1) a legacy-encoded text may show and still be read.
MAX_CHAOS = 0.2
# A Latin or Vietnamese letter written in UTF-8 (two bytes from U+00C0, or U+1EA0-U+1EFF "ạ…ỹ"): as bytes of cp1258 or
# cp1252 text these pairs and triples read "Ã©", "áº£", which a real document in those code pages hardly ever holds.
_UTF8_LETTER_RE = re.compile(rb"[\xc3-\xc6][\x80-\xbf]|\xe1[\xba\xbb][\x80-\xbf]")
# This many of them in a file that is not UTF-8 as a whole mean it is mixed (one could be chance).
_MIXED_UTF8_LETTERS = 2
BREADCRUMB = " › "
_CHUNK_CHARS = 900
# A first line this short, ending without punctuation and followed by text, is a plain text's or PDF page's heading.
_HEADING_CHARS = 60
# Text this much larger than a PDF page's body text is a heading.
_HEADING_SIZE_RATIO = 1.15
# Spreadsheet names a program gives a new sheet: no title of the document.
_DEFAULT_SHEET_RE = re.compile(r"^(sheet|trang tinh|feuil|tabelle|hoja|foglio|planilha|blad)\s*\d*$")

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_MD_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPH_RE = re.compile(r"(\*\*|__|`)")
_QUESTION_COLS = {"question", "câu hỏi", "cau hoi", "q"}
_ANSWER_COLS = {"answer", "trả lời", "tra loi", "câu trả lời", "cau tra loi", "a"}
_VARIANT_COLS = {"variants", "paraphrases", "alternatives", "biến thể", "bien the"}


@dataclass(frozen=True)
class Unit:
    """One retrievable piece of knowledge."""

    doc: str
    section: str
    title: str
    text: str
    variants: tuple[str, ...] = field(default=())


SUPPORTED_SUFFIXES = (".md", ".markdown", ".csv", ".xlsx", ".txt", ".pdf", ".docx")


def load_file(path: Path, doc: str) -> list[Unit]:
    """Read `path` into units named after `doc`; raise an `IngestError` when it cannot be used."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise UnsupportedType(f"{doc}: unsupported file type '{suffix or path.name}'", doc=doc)
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):  # a FIFO or a device would block the read or never end
        raise UnsafePath(f"{doc}: not a regular file", doc=doc)
    size = status.st_size
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(f"{doc}: {size} bytes is over the {MAX_FILE_BYTES // (1024 * 1024)} MB limit", doc=doc)
    if size == 0:
        raise EmptyFile(f"{doc}: the file is empty", doc=doc)
    try:
        read = reader(path, doc)
    except IngestError:
        raise
    except Exception as exc:  # a damaged file may fail anywhere in a parser; it is that file's failure only
        raise CorruptFile(f"{doc}: damaged or unreadable ({type(exc).__name__})", doc=doc) from exc
    units = [u for u in map(_cleaned, read) if u.text.strip() or u.variants]
    if not units:
        raise EmptyFile(f"{doc}: no text to index", doc=doc)
    return units


# Vertical tab and form feed (a PDF's page break, a Word manual line break) end a line; other controls are dropped.
_LINE_BREAKS = str.maketrans({"\v": "\n", "\f": "\n"})


def _cleaned(unit: Unit) -> Unit:
    """A unit as it is indexed and served: every field by the one rule for text we are given (`clean_text`).

    Invisible characters (zero-width spaces and joiners, soft hyphens, bidi controls, BOMs) would reach customers in
    answers, where they hide or reorder what is shown (a spoofing vector), and would cut words and numbers in two for
    search and for the ingest screen.
    """
    def clean(text: str) -> str:
        return clean_text(text.translate(_LINE_BREAKS))

    variants = tuple(v for v in map(clean, unit.variants) if v.strip())
    return replace(unit, section=clean(unit.section), title=clean(unit.title), text=clean(unit.text),
                   variants=variants)


def doc_title_from_name(doc: str) -> str:
    """Return a readable title from a file name ("policies/warranty_policy.md" -> "Warranty policy")."""
    stem = Path(doc).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else doc


def _decode(path: Path, doc: str) -> str:
    return decode_text(path.read_bytes(), doc)


def decode_text(raw: bytes, doc: str) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16/32 with a BOM, else the encoding
    charset-normalizer finds among `TEXT_ENCODINGS` (Vietnamese cp1258, Western cp1252); refuse when unsure.

    A wrong guess would index garbage that customers then read, so a file no candidate decodes cleanly
    is refused with `UnknownEncoding` rather than read "as well as possible".
    """
    if raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-16"
        if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
            encoding = "utf-32"
        try:
            return _checked(raw.decode(encoding), doc)
        except UnicodeDecodeError as exc:
            raise UnknownEncoding(f"{doc}: damaged {encoding} text", doc=doc) from exc
    try:
        return _checked(raw.decode("utf-8"), doc)
    except UnicodeDecodeError:
        pass
    if len(_UTF8_LETTER_RE.findall(raw)) >= _MIXED_UTF8_LETTERS:
        # Part UTF-8, part a code page (lines pasted from two editors): any one reading garbles the other part
        # ("Báº£o hÃ nh"), and customers would read it.
        raise UnknownEncoding(f"{doc}: part of the file is UTF-8 and part is not; save it all as UTF-8", doc=doc)
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=list(TEXT_ENCODINGS)).best()
    if best is None or best.chaos > MAX_CHAOS:
        raise UnknownEncoding(f"{doc}: the text encoding could not be recognised; save it as UTF-8", doc=doc)
    return _checked(str(best), doc)


def _checked(text: str, doc: str) -> str:
    if "\x00" in text or any(0x80 <= ord(ch) < 0xA0 for ch in text):  # binary, or C1 controls from a wrong guess
        raise UnknownEncoding(f"{doc}: not a text file, or its encoding could not be recognised", doc=doc)
    return nfc(text)


def _clean_md(line: str) -> str:
    return _MD_EMPH_RE.sub("", _MD_LINK_RE.sub(r"\1", line))


def _read_markdown(path: Path, doc: str) -> list[Unit]:
    return markdown_units(_decode(path, doc), doc)


def markdown_units(text: str, doc: str) -> list[Unit]:
    """Split markdown into one unit per heading section (the H1's intro is a unit of its own)."""
    doc_title = doc_title_from_name(doc)
    stack: list[tuple[int, str]] = []
    sections: list[tuple[list[tuple[int, str]], list[str]]] = [([], [])]
    in_fence = False
    for line in text.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING_RE.match(line)
        if match is None:
            sections[-1][1].append(_clean_md(line))
            continue
        level, heading = len(match.group(1)), _clean_md(match.group(2)).strip()
        if level == 1 and not any(lv == 1 for lv, _ in stack) and not stack:
            doc_title = heading
        stack = [(lv, h) for lv, h in stack if lv < level] + [(level, heading)]
        sections.append((list(stack), []))
    units: list[Unit] = []
    for path_, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        if not path_:
            units.append(Unit(doc=doc, section=doc_title, title=doc_title, text=body))
            continue
        crumbs = [h for lv, h in path_ if lv > 1]
        section = path_[-1][1]
        title = BREADCRUMB.join([doc_title, *crumbs]) if crumbs else doc_title
        units.append(Unit(doc=doc, section=section, title=title, text=body))
    return units


def _norm_header(value: object) -> str:
    return nfc(str(value or "")).strip().casefold()


def _faq_units(rows: Iterable[list[object]], doc: str, doc_title: str | None = None) -> list[Unit]:
    it = iter(rows)
    header = next(it, None)
    if header is None:
        raise EmptyFile(f"{doc}: the table is empty", doc=doc)
    names = [_norm_header(h) for h in header]
    q_col = next((i for i, n in enumerate(names) if n in _QUESTION_COLS), None)
    a_col = next((i for i, n in enumerate(names) if n in _ANSWER_COLS), None)
    v_col = next((i for i, n in enumerate(names) if n in _VARIANT_COLS), None)
    if q_col is None or a_col is None:
        raise MissingColumns(f"{doc}: a FAQ table needs 'question' and 'answer' columns", doc=doc)
    doc_title = doc_title or doc_title_from_name(doc)
    units: list[Unit] = []
    for row in it:
        cells = [nfc(str(c)).strip() if c is not None else "" for c in row]
        cells += [""] * (max(q_col, a_col, v_col or 0) + 1 - len(cells))
        question, answer = cells[q_col], cells[a_col]
        if not question:
            continue
        variants: tuple[str, ...] = ()
        if v_col is not None and cells[v_col]:
            variants = tuple(v.strip() for v in re.split(r"\n|\|", cells[v_col]) if v.strip())
        units.append(
            Unit(doc=doc, section=question, title=f"{doc_title}{BREADCRUMB}{question}", text=answer, variants=variants)
        )
    return units


def _read_csv(path: Path, doc: str) -> list[Unit]:
    text = _decode(path, doc)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel()  # type: ignore[assignment]
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise CorruptFile(f"{doc}: unreadable CSV ({exc})", doc=doc) from exc
    return _faq_units(rows, doc)  # type: ignore[arg-type]


def _read_xlsx(path: Path, doc: str) -> list[Unit]:
    import openpyxl

    _check_unzipped_size(path, doc)  # openpyxl reads whole parts at once, trusting their declared sizes
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise CorruptFile(f"{doc}: not a readable .xlsx workbook", doc=doc) from exc
    try:
        units: list[Unit] = []
        errors: list[MissingColumns] = []
        for sheet in book.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            if not rows:
                continue
            try:
                units.extend(_faq_units(rows, doc, _sheet_title(sheet.title)))
            except MissingColumns as exc:
                errors.append(exc)
        if not units and errors:
            raise errors[0]
        return units
    finally:
        book.close()


def _sheet_title(name: str | None) -> str | None:
    """A sheet's own name as the table's title ("Câu hỏi bán hàng"); None for a name a program gave ("Sheet1")."""
    name = nfc(name or "").strip()
    return name if name and not _DEFAULT_SHEET_RE.match(fold(name)) else None


def text_chunks(text: str, limit: int = _CHUNK_CHARS) -> list[str]:
    """Group paragraphs (blank-line separated) into chunks of about `limit` characters."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    chunks: list[str] = []
    current = ""
    for para in paragraphs:
        if current and len(current) + len(para) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current:
        chunks.append(current)
    return chunks


def _chunk_label(chunk: str) -> str:
    first = chunk.strip().splitlines()[0].strip()
    return first if len(first) <= 80 else first[:77].rstrip() + "…"


def _chunk_units(chunks: list[str], doc: str, doc_title: str) -> list[Unit]:
    units: list[Unit] = []
    seen: set[str] = set()
    for i, chunk in enumerate(chunks, start=1):
        label = base = _chunk_label(chunk)
        if fold(label) in seen:
            label = f"{label} ({i})"
        seen.add(fold(label))
        # A chunk under the document's own heading is titled by it once, not "Heading › Heading".
        title = doc_title if fold(base) == fold(doc_title) else f"{doc_title}{BREADCRUMB}{label}"
        units.append(Unit(doc=doc, section=label, title=title, text=chunk))
    return units


def _heading_line(lines: list[str]) -> str | None:
    """The first line when it reads as a heading: short, no closing punctuation, text after it."""
    filled = [ln.strip() for ln in lines if ln.strip()]
    if len(filled) < 2:
        return None
    first = filled[0]
    if len(first) > _HEADING_CHARS or first.endswith((".", ",", ";", ":", "!", "?", "…")):
        return None
    return first


def _read_txt(path: Path, doc: str) -> list[Unit]:
    """A plain text: titled by its first line when that is a heading (as typed, with its accents), else by its name."""
    text = _decode(path, doc)
    heading = _heading_line(text.splitlines())
    return _chunk_units(text_chunks(text), doc, heading or doc_title_from_name(doc))


def _read_pdf(path: Path, doc: str) -> list[Unit]:
    """A PDF: each page's headings (larger type, else a short first line) start their own paragraph, so a chunk is
    labelled by its heading alone; the document's title is its metadata title, else its first heading."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [_pdf_page(page) for page in reader.pages]
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptFile(f"{doc}: damaged or unreadable PDF", doc=doc) from exc
    meta_title = nfc(((reader.metadata.title if reader.metadata else None) or "").strip())
    first_heading = next((h for _, headings in pages for h in headings), None)
    title = meta_title or first_heading or doc_title_from_name(doc)
    chunks = [c for text, headings in pages for c in _pdf_chunks(_reflow(text, headings), headings)]
    return _chunk_units(chunks, doc, title)


def _pdf_chunks(text: str, headings: list[str]) -> list[str]:
    """Chunks of a page that each start at a heading: a heading begins a new chunk, and a part too long for
    one chunk carries its heading again (so it is labelled, and found, by it)."""
    alone = {" ".join(h.split()) for h in headings}
    sections: list[list[str]] = [[]]
    for paragraph in text.split("\n\n"):
        if " ".join(paragraph.split()) in alone and sections[-1]:
            sections.append([])
        sections[-1].append(paragraph)
    chunks: list[str] = []
    for section in sections:
        parts = text_chunks("\n\n".join(section))
        heading = section[0] if " ".join(section[0].split()) in alone else None
        chunks += parts[:1] + [f"{heading}\n\n{part}" if heading else part for part in parts[1:]]
    return chunks


def _pdf_page(page: Any) -> tuple[str, list[str]]:
    """A page's text and its heading lines, in order."""
    pieces: list[tuple[float, str]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text:
            scale = abs(float(tm[3] or tm[0] or 1)) * abs(float(cm[3] or cm[0] or 1))
            pieces.append((round(float(size or 0) * scale, 1), text))

    text = nfc(page.extract_text(visitor_text=visit) or "")
    lines = [ln.strip() for ln in text.splitlines()]
    headings = _larger_lines(pieces, lines)
    if not headings:
        first = _heading_line(lines)
        headings = [first] if first else []
    return text, headings


def _larger_lines(pieces: list[tuple[float, str]], lines: list[str]) -> list[str]:
    """The page's lines set in type larger than its body text (the size most of its characters have)."""
    weight: dict[float, int] = {}
    for size, text in pieces:
        weight[size] = weight.get(size, 0) + len(text.strip())
    if len(weight) < 2:
        return []
    body = max(weight, key=lambda size: weight[size])
    runs: list[str] = []
    current = ""
    for size, text in pieces:
        if size >= body * _HEADING_SIZE_RATIO:
            current += text
        elif current:
            runs.append(current)
            current = ""
    runs.append(current)
    large = {" ".join(part.split()) for run in runs for part in run.splitlines() if part.strip()}
    return [ln for ln in lines if ln and " ".join(ln.split()) in large and len(ln) <= _CHUNK_CHARS // 4]


def _reflow(page: str, headings: Iterable[str] = ()) -> str:
    # PDF text comes line-wrapped: join wrapped lines, keep blank lines as paragraph breaks; a heading is a
    # paragraph of its own (joined to its body it would run into the chunk's label).
    alone = {" ".join(h.split()) for h in headings}
    lines = [ln.strip() for ln in page.splitlines()]
    out: list[str] = []
    for line in lines:
        heading = bool(line) and " ".join(line.split()) in alone
        if not line:
            out.append("")
        elif heading:
            out += ["", line, ""]
        elif out and out[-1] and not out[-1].endswith((".", ":", "?", "!")):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n\n".join(p for p in out if p)


def _read_docx(path: Path, doc: str) -> list[Unit]:
    """Read a .docx from its XML: paragraphs (headings by their style) and tables, in document order.

    Read directly rather than through python-docx, whose per-paragraph style and table-cell lookups
    scan the whole document each time (a 54 KB file took minutes, issue 11).
    """
    body, styles = _docx_parts(path, doc)
    names = _docx_style_names(styles)
    lines: list[str] = []
    for block in body:
        tag = _local(block.tag)
        if tag == "p":
            text = nfc(_docx_text(block)).strip()
            level = _docx_heading_level(names.get(_docx_style_id(block), "")) if text else 0
            lines.append(f"{'#' * level} {text}" if level else text)
        elif tag == "tbl":
            lines.extend(_docx_table(block))
    md = "\n".join(lines)
    if not any(ln.startswith("# ") for ln in lines):
        md = f"# {doc_title_from_name(doc)}\n{md}"
    return markdown_units(md, doc)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, doc: str, limit: int) -> bytes:
    """Return one archive member, decompressed a chunk at a time; CorruptFile once it passes `limit` bytes."""
    try:
        return read_member(archive, info, limit)
    except ArchiveTooLarge as exc:
        raise CorruptFile(f"{doc}: {exc}", doc=doc) from exc


def _check_unzipped_size(path: Path, doc: str) -> None:
    """Decompress every member as a stream (nothing kept); CorruptFile when all of them pass the limit."""
    try:
        check_archive(path, member_limit=MAX_UNZIPPED_BYTES, total_limit=MAX_UNZIPPED_BYTES)
    except ArchiveTooLarge as exc:
        raise CorruptFile(f"{doc}: {exc}", doc=doc) from exc
    except ArchiveUnreadable as exc:
        raise CorruptFile(f"{doc}: not a readable archive", doc=doc) from exc


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _docx_parts(path: Path, doc: str) -> tuple[list[Any], Any]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        with zipfile.ZipFile(path) as archive:
            parts = {}
            for name in ("word/document.xml", "word/styles.xml"):
                try:
                    info = archive.getinfo(name)
                except KeyError:
                    if name == "word/document.xml":
                        raise
                    continue
                parts[name] = etree.fromstring(_read_member(archive, info, doc, MAX_UNZIPPED_BYTES), parser)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, etree.XMLSyntaxError) as exc:
        raise CorruptFile(f"{doc}: not a readable .docx document", doc=doc) from exc
    body = parts["word/document.xml"].find(f"{_W}body")
    if body is None:
        raise CorruptFile(f"{doc}: a .docx without a body", doc=doc)
    return list(body), parts.get("word/styles.xml")


def _docx_style_names(styles: Any) -> dict[str, str]:
    """Map paragraph style ids to their names ("Heading1" -> "heading 1"); a level from outlineLvl wins."""
    names: dict[str, str] = {}
    if styles is None:
        return names
    for style in styles.iter(f"{_W}style"):
        style_id = style.get(f"{_W}styleId") or ""
        name = style.find(f"{_W}name")
        outline = style.find(f"{_W}pPr/{_W}outlineLvl")
        if outline is not None and (outline.get(f"{_W}val") or "").isdigit() and int(outline.get(f"{_W}val")) < 9:
            names[style_id] = f"Heading {int(outline.get(f'{_W}val')) + 1}"
        elif name is not None:
            names[style_id] = name.get(f"{_W}val") or style_id
    return names


def _docx_style_id(paragraph: Any) -> str:
    style = paragraph.find(f"{_W}pPr/{_W}pStyle")
    return (style.get(f"{_W}val") or "") if style is not None else ""


def _docx_text(element: Any) -> str:
    """The visible text under an element: runs' text, tabs and breaks (deleted text is a different tag)."""
    out: list[str] = []
    for node in element.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
        tag = _local(node.tag)
        out.append(node.text or "" if tag == "t" else "\t" if tag == "tab" else "\n")
    return "".join(out)


def _docx_table(table: Any) -> list[str]:
    rows: list[str] = []
    for row in table.iterfind(f"{_W}tr"):
        cells = [" ".join(nfc(_docx_text(p)).strip() for p in cell.iter(f"{_W}p")).strip()
                 for cell in row.iterfind(f"{_W}tc")]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _docx_heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.match(r"(?:Heading|Tiêu đề)\s*(\d)", style, re.IGNORECASE)
    return min(int(match.group(1)) + 1, 6) if match else 0


_READERS: dict[str, Callable[[Path, str], list[Unit]]] = {
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".csv": _read_csv,
    ".xlsx": _read_xlsx,
    ".txt": _read_txt,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
