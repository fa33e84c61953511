"""The certificate as a PDF (fpdf2).

Names are printed in a Unicode TrueType font when the machine has one (``CERTIFICATE_FONT``
in the configuration, else DejaVu Sans where Debian and Ubuntu put it); without one, fpdf2's
core Helvetica covers Latin-1 only, so other letters are transliterated ("Łukasz" prints as
"Lukasz") and what has no Latin form becomes "?". The HTML certificate always shows the name
as written.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from flask import current_app
from fpdf import FPDF

from bookings.certificates.service import CertificateView

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)
# Letters NFKD does not take apart.
LATIN = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "Œ": "OE",
        "œ": "oe",
        "\u0131": "i",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)


def unicode_font() -> Path | None:
    configured = current_app.config.get("CERTIFICATE_FONT")
    if configured is not None:
        path = Path(configured)
        return path if configured and path.is_file() else None
    return next((Path(p) for p in FONT_CANDIDATES if Path(p).is_file()), None)


def latin1(text: str) -> str:
    """``text`` in Latin-1, for a core font: letters outside it lose their accents."""
    out = []
    for char in text.translate(LATIN):
        if ord(char) < 256:
            out.append(char)
            continue
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(plain if plain and all(ord(c) < 256 for c in plain) else "?")
    return "".join(out)


def certificate_pdf(view: CertificateView, verify_url: str) -> bytes:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Certificate of attendance {view.number}")
    pdf.set_author("London Safeguarding Children Board")
    pdf.set_lang("en-GB")
    font = unicode_font()
    if font is not None:
        pdf.add_font("Certificate", "", str(font))
        family, write = "Certificate", str
    else:
        family, write = "Helvetica", latin1
    pdf.add_page()
    pdf.set_auto_page_break(False)
    width = pdf.w - 2 * pdf.l_margin

    def line(text: str, size: int, gap: float = 4) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(width, size * 0.5, write(text), align="C")
        pdf.ln(gap)

    pdf.set_y(28)
    line("London Safeguarding Children Board", 14, 10)
    line("Certificate of attendance", 30, 12)
    line("This is to certify that", 14)
    line(view.name or "", 24, 8)
    line("attended", 14)
    line(view.event_title, 20, 4)
    line(f"on {view.event_date}", 14, 8)
    line(f"Hours of learning: {view.hours}", 14, 2)
    if view.level:
        line(f"Competence level: {view.level}", 14, 2)
    pdf.set_y(-42)
    reissued = f" (reissued {view.reissued_on})" if view.reissued_on else ""
    line(f"Certificate number {view.number}, issued {view.issued_on}{reissued}", 11, 2)
    line(f"Check it at {verify_url}", 11, 0)
    return bytes(pdf.output())
