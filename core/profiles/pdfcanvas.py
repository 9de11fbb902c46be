"""A small vector PDF writer for the profile atlas: pages of text, lines, polygons and marks.

Why our own writer: matplotlib's PDF backend needs 0.1-0.3 s per atlas page (text layout,
artists, font subsetting), which made a 542-page atlas slower than QGIS's own atlas export;
writing the few drawing operators a profile needs directly takes a few milliseconds per page.
Text uses the PDF standard fonts Helvetica / Helvetica-Bold / Helvetica-Oblique with
WinAnsiEncoding (no font embedding, text stays searchable and extractable); their widths come
from the AFM metrics shipped with matplotlib (present on both stacks), so text can be right-
aligned and wrapped. Characters outside Windows-1252 are replaced by close ones or '?'.
"""
import os
import unicodedata
import zlib

import numpy as np

A4_POINTS = (595.28, 841.89)
FONTS = {"regular": ("F1", "Helvetica", "phvr8a.afm"), "bold": ("F2", "Helvetica-Bold", "phvb8a.afm"),
         "italic": ("F3", "Helvetica-Oblique", "phvro8a.afm")}
REPLACE = {"◀": "<", "▶": ">", "→": "->", "−": "-", "\u2009": " ", "\u202f": " ", "≥": ">=", "≤": "<="}
_WIDTHS = {}


def _afm_widths(filename):
    """Character code (Adobe standard/ASCII) → width in 1/1000 em, from matplotlib's AFM files."""
    from matplotlib import get_data_path

    widths, names = {}, {}
    with open(os.path.join(get_data_path(), "fonts", "afm", filename), encoding="latin-1") as fh:
        for line in fh:
            if not line.startswith("C "):
                continue
            fields = dict(part.strip().split(" ", 1) for part in line.split(";") if part.strip())
            code, width, name = int(fields["C"]), float(fields["WX"]), fields.get("N", "")
            names[name] = width
            if 32 <= code < 127:
                widths[chr(code)] = width
    for char, name in (("ß", "germandbls"), ("•", "bullet"), ("–", "endash"), ("—", "emdash"),
                       ("·", "periodcentered"), ("«", "guillemotleft"), ("»", "guillemotright"),
                       ("€", "Euro"), ("°", "degree"), ("„", "quotedblbase"), ("“", "quotedblleft"),
                       ("”", "quotedblright"), ("’", "quoteright"), ("‘", "quoteleft"), ("'", "quotesingle")):
        if name in names:
            widths[char] = names[name]
    return widths


def text_width(text, size, style="regular"):
    """Width of ``text`` in points at ``size`` in the given style."""
    table = _WIDTHS.get(style)
    if table is None:
        table = _WIDTHS[style] = _afm_widths(FONTS[style][2])
    total = 0.0
    for char in clean(text):
        width = table.get(char)
        if width is None:  # accented letters: the width of the base letter
            width = table.get(unicodedata.normalize("NFD", char)[:1], 556.0)
        total += width
    return total * size / 1000.0


def clean(text):
    """Text with the characters WinAnsiEncoding lacks replaced."""
    text = str(text)
    for old, new in REPLACE.items():
        text = text.replace(old, new)
    return text


def _pdf_string(text):
    """A PDF literal string in Windows-1252."""
    raw = clean(text).encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _rgb(colour):
    """'#rrggbb' → 'r g b'."""
    colour = colour.lstrip("#")
    return " ".join(f"{int(colour[i:i + 2], 16) / 255:.3g}" for i in (0, 2, 4))


def wrap(text, width, size, style="regular"):
    """Split ``text`` into lines no wider than ``width`` points."""
    lines = []
    for paragraph in str(text or "").split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and text_width(trial, size, style) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


class Page:
    """Drawing operations of one page; coordinates in points from the bottom left."""

    def __init__(self, size=A4_POINTS):
        self.width, self.height = size
        self.ops = []

    def text(self, x, y, text, size=8.0, style="regular", align="left", colour="#000000"):
        """One line of text with its baseline at ``y``; ``align`` left, right or centre."""
        if not text:
            return
        if align != "left":
            w = text_width(text, size, style)
            x -= w if align == "right" else w / 2
        self.ops.append(b"BT /" + FONTS[style][0].encode() + f" {size:g} Tf {_rgb(colour)} rg {x:.2f} {y:.2f} Td ".encode()
                        + _pdf_string(text) + b" Tj ET")

    def lines(self, x, y, lines, size=8.0, leading=1.3, **kwargs):
        """Several lines downwards from baseline ``y``; returns the y below the last line."""
        for line in lines:
            self.text(x, y, line, size, **kwargs)
            y -= size * leading
        return y

    def rect(self, x, y, w, h, fill=None, stroke=None, width=0.5):
        """A rectangle."""
        self.ops.append(f"{self._style(fill, stroke, width)}{x:.2f} {y:.2f} {w:.2f} {h:.2f} re {self._paint(fill, stroke)}".encode())

    def polyline(self, xy, stroke="#000000", width=0.5, dash=None):
        """An open line through the points ``xy`` (n × 2)."""
        xy = np.asarray(xy, dtype=float)
        if len(xy) < 2:
            return
        dash_op = f"[{' '.join(f'{d:g}' for d in dash)}] 0 d " if dash else ""
        body = _path_ops(xy, close=False)
        self.ops.append(f"q {dash_op}{_rgb(stroke)} RG {width:g} w {body} S Q".encode())

    def polygons(self, rings, fill=None, stroke=None, width=0.5):
        """Filled/stroked polygons: a list of rings (n × 2 arrays), even-odd filled (holes)."""
        body = " ".join(_path_ops(r, close=True) for r in rings if len(r) >= 3)
        if body:
            paint = {"f": "f*", "B": "B*"}.get(self._paint(fill, stroke), self._paint(fill, stroke))
            self.ops.append(f"{self._style(fill, stroke, width)}{body} {paint}".encode())

    def marker(self, kind, x, y, size, fill=None, stroke=None, width=1.0):
        """A mark centred at (x, y): 's' square, 'o' circle, 'D' diamond, '^' triangle."""
        r = size / 2
        if kind == "s":
            self.rect(x - r, y - r, size, size, fill, stroke, width)
            return
        if kind == "o":
            k = 0.5523 * r  # Bézier circle
            body = (f"{x + r:.2f} {y:.2f} m {x + r:.2f} {y + k:.2f} {x + k:.2f} {y + r:.2f} {x:.2f} {y + r:.2f} c "
                    f"{x - k:.2f} {y + r:.2f} {x - r:.2f} {y + k:.2f} {x - r:.2f} {y:.2f} c "
                    f"{x - r:.2f} {y - k:.2f} {x - k:.2f} {y - r:.2f} {x:.2f} {y - r:.2f} c "
                    f"{x + k:.2f} {y - r:.2f} {x + r:.2f} {y - k:.2f} {x + r:.2f} {y:.2f} c h")
        elif kind == "D":
            body = f"{x:.2f} {y + r * 1.2:.2f} m {x + r:.2f} {y:.2f} l {x:.2f} {y - r * 1.2:.2f} l {x - r:.2f} {y:.2f} l h"
        else:
            body = f"{x:.2f} {y + r:.2f} m {x + r:.2f} {y - r:.2f} l {x - r:.2f} {y - r:.2f} l h"
        self.ops.append(f"{self._style(fill, stroke, width)}{body} {self._paint(fill, stroke)}".encode())

    def clip(self, x, y, w, h):
        """Start clipping to a rectangle (end with :meth:`unclip`)."""
        self.ops.append(f"q {x:.2f} {y:.2f} {w:.2f} {h:.2f} re W n".encode())

    def unclip(self):
        """End the last clip."""
        self.ops.append(b"Q")

    def raw(self, data):
        """Add prepared operators (e.g. a path reused on every page)."""
        self.ops.append(data)

    @staticmethod
    def _style(fill, stroke, width):
        out = ""
        if fill:
            out += f"{_rgb(fill)} rg "
        if stroke:
            out += f"{_rgb(stroke)} RG {width:g} w "
        return out

    @staticmethod
    def _paint(fill, stroke):
        return "B" if fill and stroke else ("f" if fill else ("S" if stroke else "n"))


def _path_ops(xy, close):
    """'x y m x y l … [h]' for a point array."""
    xy = np.asarray(xy, dtype=float)
    parts = [f"{xy[0, 0]:.1f} {xy[0, 1]:.1f} m"]
    parts += [f"{a:.1f} {b:.1f} l" for a, b in xy[1:]]
    if close:
        parts.append("h")
    return " ".join(parts)


class Document:
    """A PDF file written page by page (objects streamed to disk, xref at the end)."""

    def __init__(self, path, title="", creator="Kommunalmonitor"):
        self.fh = open(path, "wb")
        self.offsets = {}
        self.page_ids = []
        self.fh.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        # 1 catalog, 2 pages, 3 info, 4-6 fonts; pages from 7 on
        self.next_id = 7
        self.title, self.creator = title, creator

    def _object(self, number, body):
        self.offsets[number] = self.fh.tell()
        self.fh.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")

    def add(self, page):
        """Write a finished page."""
        stream = zlib.compress(b"\n".join(page.ops), 6)
        content_id, page_id = self.next_id, self.next_id + 1
        self.next_id += 2
        self._object(content_id, f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
                     + stream + b"\nendstream")
        self._object(page_id, (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page.width:.2f} {page.height:.2f}] "
                               f"/Resources << /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> >> "
                               f"/Contents {content_id} 0 R >>").encode())
        self.page_ids.append(page_id)

    def close(self):
        """Write catalog, page tree, fonts, info and the cross-reference table."""
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        kids = " ".join(f"{i} 0 R" for i in self.page_ids)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.page_ids)} >>".encode())
        self._object(3, b"<< /Title " + _pdf_string(self.title) + b" /Creator " + _pdf_string(self.creator) + b" >>")
        for number, (_, base, _) in zip((4, 5, 6), FONTS.values()):
            self._object(number, f"<< /Type /Font /Subtype /Type1 /BaseFont /{base} "
                                 f"/Encoding /WinAnsiEncoding >>".encode())
        xref = self.fh.tell()
        count = self.next_id
        self.fh.write(f"xref\n0 {count}\n0000000000 65535 f \n".encode())
        for number in range(1, count):
            self.fh.write(f"{self.offsets.get(number, 0):010d} 00000 n \n".encode())
        self.fh.write(f"trailer\n<< /Size {count} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
        self.fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.fh.close()
            return False
        self.close()
        return False
