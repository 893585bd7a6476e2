"""Rendering: fonts found and subset, one deterministic A4 page, text where it belongs.

The page is read back independently of the renderer: a small content-stream
interpreter places every glyph (decoded through the font's ToUnicode map and
measured with the font's /Widths), and the QR code is read from a rasterised
page with zxing-cpp.
"""

from __future__ import annotations

import dataclasses
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.lib.pagesizes import A4

from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.documents import fonts
from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.documents.render import LicenseDocument, RenderedLicense, render_license
from trustsvc.errors import (
    FontNotFoundError,
    FontUnusableError,
    LicenseTextTooLongError,
    UnsupportedCharacterError,
)

# ---- reading a page back ------------------------------------------------------------

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m × n, in PDF's row-vector convention."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


@dataclass(frozen=True)
class Glyph:
    """One drawn character, in page coordinates."""

    char: str
    x: float
    y: float
    #: Where the pen ends after the glyph (its advance, without letter spacing).
    end_x: float
    end_y: float
    size: float
    #: The glyph's upward direction on the page.
    up: tuple[float, float]
    base_font: str


@dataclass(frozen=True)
class Rect:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Page:
    glyphs: list[Glyph]
    filled: list[Rect]
    fonts: dict[str, Any]

    def lines(self) -> list[tuple[float, str, list[Glyph]]]:
        """Horizontal text grouped by baseline, top to bottom, each line left to right."""
        rows: dict[float, list[Glyph]] = {}
        for glyph in self.glyphs:
            rows.setdefault(round(glyph.y, 1), []).append(glyph)
        result = []
        for y in sorted(rows, reverse=True):
            glyphs = sorted(rows[y], key=lambda g: g.x)
            result.append((y, "".join(g.char for g in glyphs), glyphs))
        return result

    def text(self) -> str:
        return "\n".join(line for _, line, _ in self.lines())


_TOKEN = re.compile(
    rb"\s*(?:(%[^\r\n]*)|(\()|(<[0-9A-Fa-f\s]*>)|(\[|\])|(/[^\s/\[\]()<>]+)|([^\s/\[\]()<>%]+))"
)


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """A literal string starting after its '('; return its bytes and the index after ')'."""
    out = bytearray()
    depth, i = 1, start
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while True:
        ch = data[i]
        if ch == ord("\\"):
            nxt = data[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
            elif 0x30 <= nxt <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4])
                assert digits
                out.append(int(digits.group(), 8) & 0xFF)
                i += 1 + len(digits.group())
            elif nxt in b"\r\n":
                i += 2
            else:
                out.append(nxt)
                i += 2
            continue
        if ch == ord("("):
            depth += 1
        elif ch == ord(")"):
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(ch)
        i += 1


def _tokens(data: bytes) -> Iterator[object]:
    i = 0
    while i < len(data):
        match = _TOKEN.match(data, i)
        if match is None or match.end() == i:
            break
        i = match.end()
        comment, paren, hexstring, bracket, name, word = match.groups()
        if comment:
            continue
        if paren:
            value, i = _literal(data, i)
            yield value
        elif hexstring:
            yield bytes.fromhex(re.sub(rb"\s", b"", hexstring[1:-1]).decode())
        elif bracket:
            yield bracket.decode()
        elif name:
            yield ("name", name[1:].decode())
        elif word:
            try:
                yield float(word)
            except ValueError:
                yield ("op", word.decode())


def _font_table(font: Any) -> tuple[dict[int, str], dict[int, float], str]:
    cmap = font["/ToUnicode"].get_object().data.decode("latin-1")
    to_unicode = {
        int(code, 16): chr(int(uni, 16))
        for code, uni in re.findall(r"<([0-9A-Fa-f]{2})>\s*<([0-9A-Fa-f]{4})>", cmap)
    }
    first = int(font["/FirstChar"])
    widths = {first + i: float(w) for i, w in enumerate(font["/Widths"])}
    return to_unicode, widths, str(font["/BaseFont"])[1:]


def read_page(pdf: bytes) -> Page:
    """Every glyph and filled rectangle on page 1."""
    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    resources = page["/Resources"]
    font_resources = resources.get("/Font")
    font_resources = {} if font_resources is None else font_resources.get_object()
    font_dicts = {str(name)[1:]: ref.get_object() for name, ref in font_resources.items()}
    tables = {name: _font_table(font) for name, font in font_dicts.items()}
    contents = page["/Contents"].get_object()
    data = contents.data

    glyphs: list[Glyph] = []
    filled: list[Rect] = []
    pending: list[Rect] = []
    ctm, stack = _IDENTITY, []
    tm = tlm = _IDENTITY
    font, size, char_space, scale = "", 0.0, 0.0, 1.0
    operands: list[object] = []
    array: list[object] | None = None

    def show(string: bytes) -> None:
        nonlocal tm
        to_unicode, widths, base_font = tables[font]
        for code in string:
            trm = _multiply((size * scale, 0, 0, size, 0, 0), _multiply(tm, ctm))
            advance = widths.get(code, 0.0) / 1000
            x, y = _apply(trm, 0, 0)
            end_x, end_y = _apply(trm, advance, 0)
            up_x, up_y = _apply(trm, 0, 1)
            glyphs.append(
                Glyph(to_unicode[code], x, y, end_x, end_y, size, (up_x - x, up_y - y), base_font)
            )
            tm = _multiply((1, 0, 0, 1, (advance * size + char_space) * scale, 0), tm)

    for token in _tokens(data):
        if token == "[":
            array = []
            continue
        if token == "]":
            operands.append(array)
            array = None
            continue
        if array is not None:
            array.append(token)
            continue
        if not (isinstance(token, tuple) and token[0] == "op"):
            operands.append(token[1] if isinstance(token, tuple) else token)
            continue
        op = token[1]
        nums = [o for o in operands if isinstance(o, float)]
        if op == "q":
            stack.append((ctm, char_space, scale))
        elif op == "Q":
            ctm, char_space, scale = stack.pop()
        elif op == "cm":
            ctm = _multiply(tuple(nums[-6:]), ctm)  # type: ignore[arg-type]
        elif op == "BT":
            tm = tlm = _IDENTITY
        elif op == "Tm":
            tm = tlm = tuple(nums[-6:])  # type: ignore[assignment]
        elif op == "Td":
            tm = tlm = _multiply((1, 0, 0, 1, nums[-2], nums[-1]), tlm)
        elif op == "Tf":
            font, size = str(operands[-2]), nums[-1]
        elif op == "Tc":
            char_space = nums[-1]
        elif op == "Tz":
            scale = nums[-1] / 100
        elif op == "Tj":
            show(operands[-1])  # type: ignore[arg-type]
        elif op == "TJ":
            for part in operands[-1]:  # type: ignore[union-attr]
                if isinstance(part, bytes):
                    show(part)
                else:
                    tm = _multiply((1, 0, 0, 1, -part / 1000 * size * scale, 0), tm)
        elif op == "re":
            x, y, w, h = nums[-4:]
            (x1, y1), (x2, y2) = _apply(ctm, x, y), _apply(ctm, x + w, y + h)
            pending.append(Rect(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
        elif op in ("f", "F", "f*", "B", "B*", "b", "b*"):
            filled.extend(pending)
            pending = []
        elif op in ("S", "s", "n"):
            pending = []
        operands = []
    return Page(glyphs, filled, font_dicts)


# ---- fixtures -----------------------------------------------------------------------

LONG_VALUE = (
    "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；"
    "信息系统集成服务；数据处理和存储支持服务；计算机系统服务；网络技术服务；"
    "信息技术咨询服务（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。"
    "详见 https://example.gov.cn/licenses/scope/0123456789abcdefghijklmnopqrstuvwxyz"
    "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz 的公示。\n"
    "许可项目：第二类增值电信业务（依法须经批准的项目，经相关部门批准后方可开展经营活动，"
    "具体经营项目以审批结果为准）。"
)
PARAGRAPH = (
    "经审查，你单位提交的申请材料齐全，符合法定形式，依据《中华人民共和国行政许可法》第三十八条"
    "第一款及《浙江省某某管理条例》的有关规定，本机关决定准予行政许可。你单位应当严格按照许可的"
    "范围、条件和期限从事相关活动，接受有关部门的监督检查，并自觉履行法律法规规定的各项义务。"
    "如对本决定不服，可以在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法向"
    "人民法院提起行政诉讼，特此决定。"
)
VERIFY_URL = "https://licenses.example.gov.cn/v/eyJpZCI6IjEuMi4xNTYuMzAwNS4yIn0.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def font_name() -> str:
    return load_cjk_font(find_cjk_font())


def business_license(**changes: Any) -> LicenseDocument:
    document = LicenseDocument(
        title_zh="营业执照",
        title_en="Business License",
        style="table",
        rows=(
            ("统一社会信用代码", "91330106MA2H0B2X5K"),
            ("名称", "杭州某某科技有限公司"),
            ("类型", "有限责任公司（自然人投资或控股）"),
            ("法定代表人", "张三"),
            ("注册资本", "壹仟万元整"),
            ("住所", "浙江省杭州市西湖区文三路 90 号东部软件园 1 号楼 501 室"),
            ("经营范围", LONG_VALUE),
        ),
        holder_line="持证主体：杭州某某科技有限公司",
        issuer_name="杭州市西湖区市场监督管理局",
        issue_date=date(2026, 11, 22),
        valid_from=date(2026, 11, 22),
        valid_until=date(2031, 11, 21),
        license_number="330106000123456",
        identifier="1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
        verify_url=VERIFY_URL,
        seal_caption="电子证照专用章",
    )
    return dataclasses.replace(document, **changes)


def approval_decision(paragraphs: tuple[str, ...]) -> LicenseDocument:
    return business_license(
        title_zh="准予行政许可决定书",
        title_en="Decision on Granting Administrative Permission",
        style="document",
        rows=(("文号", "杭西审批许〔2026〕第 1123 号"), ("申请人", "杭州某某科技有限公司")),
        paragraphs=paragraphs,
        issuer_name="杭州市西湖区行政审批服务管理办公室",
    )


def overlaps(a: Rect, b: Rect) -> bool:
    return a.x1 < b.x2 and b.x1 < a.x2 and a.y1 < b.y2 and b.y1 < a.y2


def glyph_box(glyph: Glyph) -> Rect:
    # The ideographic em box: 0.12 em below the baseline to 0.88 em above.
    return Rect(glyph.x, glyph.y - 0.12 * glyph.size, glyph.end_x, glyph.y + 0.88 * glyph.size)


# ---- fonts --------------------------------------------------------------------------


def test_a_collection_is_refused_naming_the_reason(tmp_path: Path) -> None:
    collection = tmp_path / "wqy-zenhei.ttc"
    collection.write_bytes(b"ttcf")
    with pytest.raises(FontUnusableError, match=r"collection \(\.ttc\).*single fonts"):
        find_cjk_font(collection)


def test_a_missing_configured_font_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError, match="does not exist"):
        find_cjk_font(tmp_path / "missing.ttf")


def test_a_file_that_is_not_a_font_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FontUnusableError, match=r"not a \.ttf or \.otf"):
        find_cjk_font(tmp_path / "font.woff2")


def test_a_configured_font_wins_over_the_search() -> None:
    configured = find_cjk_font()
    assert find_cjk_font(configured) == configured


def test_no_font_anywhere_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "CJK_FONT_CANDIDATES", (tmp_path / "a.ttf", tmp_path / "wqy"))
    monkeypatch.setattr(fonts, "_FONT_ROOT", tmp_path)
    with pytest.raises(FontNotFoundError) as caught:
        find_cjk_font()
    message = caught.value.message
    assert str(tmp_path / "a.ttf") in message
    assert "fonts-droid-fallback" in message
    assert "TRUSTSVC_CJK_FONT" in message


def test_the_font_is_registered_once_across_threads() -> None:
    path = find_cjk_font()
    names: list[str] = []
    threads = [threading.Thread(target=lambda: names.append(load_cjk_font(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(names)) == 1
    assert load_cjk_font(path) == names[0]


def test_a_character_no_font_has_is_refused(font_name: str) -> None:
    # U+E000 is a private-use character: neither the CJK font nor DejaVu draws it.
    document = business_license(holder_line="持证主体：杭州\ue000科技有限公司")
    with pytest.raises(UnsupportedCharacterError, match="U\\+E000"):
        render_license(document, font_name)


# ---- the page -----------------------------------------------------------------------


def test_one_a4_page(font_name: str) -> None:
    rendered = render_license(business_license(), font_name)
    reader = PdfFileReader(io.BytesIO(rendered.pdf))
    pages = reader.root["/Pages"]
    assert int(pages["/Count"]) == 1
    media_box = [float(v) for v in pages["/Kids"][0].get_object()["/MediaBox"]]
    assert media_box == pytest.approx([0, 0, *A4])
    assert rendered.page_size == pytest.approx(A4)


def test_fonts_are_embedded_as_subsets(font_name: str) -> None:
    rendered = render_license(business_license(), font_name)
    page = read_page(rendered.pdf)
    assert page.fonts
    source_size = find_cjk_font().stat().st_size
    for font in page.fonts.values():
        assert font["/Subtype"] == "/TrueType"
        assert re.fullmatch(r"/[A-Z]{6}\+\S+", str(font["/BaseFont"]))
        program = font["/FontDescriptor"]["/FontFile2"].get_object().data
        assert len(program) < source_size / 20  # the used glyphs, not the 4 MB font
    assert {g.base_font.split("+")[1] for g in page.glyphs} >= {"DroidSansFallback"}


def test_more_characters_than_one_subset_holds_read_back(font_name: str) -> None:
    # 300 different characters: one-byte codes run out at 255, so a second
    # subset of the same font takes the rest.
    many = "".join(chr(0x4E00 + i) for i in range(300))
    document = approval_decision((many[:150], many[150:]))
    page = read_page(render_license(document, font_name).pdf)
    cjk = [f for f in page.fonts.values() if str(f["/BaseFont"]).endswith("+DroidSansFallback")]
    assert len(cjk) == 2
    assert all(int(f["/LastChar"]) <= 255 for f in cjk)
    assert many in page.text().replace("\n", "")


def test_the_text_is_on_the_page(font_name: str) -> None:
    text = read_page(render_license(business_license(), font_name).pdf).text()
    for expected in (
        "营业执照",
        "Business License",
        "证照编号：330106000123456",
        "持证主体：杭州某某科技有限公司",
        "统一社会信用代码",
        "91330106MA2H0B2X5K",
        "有效期",
        "2026年11月22日 至 2031年11月21日",
        "杭州市西湖区市场监督管理局",
        "扫码核验",
        "证照标识：1.2.156.3005.2.11100000000013338W011",
    ):
        assert expected in text, expected


def test_a_license_without_end_is_valid_long_term(font_name: str) -> None:
    text = read_page(render_license(business_license(valid_until=None), font_name).pdf).text()
    assert "2026年11月22日 至 长期" in text


def test_rendering_is_deterministic(font_name: str) -> None:
    first = render_license(business_license(), font_name)
    assert render_license(business_license(), font_name) == first
    other = render_license(business_license(title_zh="食品经营许可证"), font_name)
    assert other.pdf != first.pdf
    assert "食品经营许可证" in read_page(other.pdf).text()


def test_concurrent_renders_give_the_same_bytes(font_name: str) -> None:
    documents = [business_license(license_number=f"3301060001{n:05d}") for n in range(6)]
    expected = [render_license(d, font_name).pdf for d in documents]
    results: dict[int, bytes] = {}

    def render(index: int) -> None:
        results[index] = render_license(documents[index], font_name).pdf

    threads = [threading.Thread(target=render, args=(i,)) for i in range(len(documents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(documents))] == expected


def test_the_qr_code_decodes_to_the_verify_url(font_name: str) -> None:
    rendered = render_license(business_license(), font_name)
    assert read_qr_codes(rendered.pdf) == [VERIFY_URL]


def qr_area(page: Page) -> Rect:
    """The QR code with its four-module quiet zone, found from the filled modules."""
    modules = [r for r in page.filled if r.x2 - r.x1 < 30]
    module = min(r.y2 - r.y1 for r in modules)
    return Rect(
        min(r.x1 for r in modules) - 4 * module,
        min(r.y1 for r in modules) - 4 * module,
        max(r.x2 for r in modules) + 4 * module,
        max(r.y2 for r in modules) + 4 * module,
    )


def assert_seal_and_qr_clear(rendered: RenderedLicense, document: LicenseDocument) -> None:
    """Nothing but the issuer and the date under the seal; nothing in the QR's quiet zone."""
    page = read_page(rendered.pdf)
    seal = Rect(*rendered.seal_box)
    quiet = qr_area(page)
    assert not overlaps(seal, quiet)
    under_seal = {document.issuer_name, "2026年11月22日"}
    seen = set()
    for _, line, glyphs in page.lines():
        for glyph in glyphs:
            box = glyph_box(glyph)
            assert not overlaps(box, quiet), line
            if overlaps(box, seal):
                assert line in under_seal, line
                seen.add(line)
    assert seen == under_seal


def test_the_seal_box_is_free_and_over_the_issuer_and_date(font_name: str) -> None:
    document = business_license()
    rendered = render_license(document, font_name)
    seal = Rect(*rendered.seal_box)
    assert seal.x2 - seal.x1 == pytest.approx(42 / 25.4 * 72)
    assert seal.y2 - seal.y1 == pytest.approx(42 / 25.4 * 72)
    # Inside the page's frame.
    assert seal.x1 > 33 and seal.x2 < A4[0] - 33 and seal.y1 > 33 and seal.y2 < A4[1] - 33
    assert_seal_and_qr_clear(rendered, document)
    # The seal is centred on the issuer's name, as stamped on paper.
    [issuer] = [g for _, line, g in read_page(rendered.pdf).lines() if line == document.issuer_name]
    assert (issuer[0].x + issuer[-1].end_x) / 2 == pytest.approx((seal.x1 + seal.x2) / 2)


def test_long_values_wrap_inside_their_column(font_name: str) -> None:
    lines = read_page(render_license(business_license(), font_name).pdf).lines()
    [(top, _, row)] = [line for line in lines if line[1].startswith("经营范围")]
    [(bottom, _, _)] = [line for line in lines if line[1].startswith("有效期")]
    label_end = row[3].end_x  # 经营范围 is four characters
    value_left = min(g.x for g in row if g.x > label_end)
    value_lines = [
        "".join(g.char for g in glyphs if g.x >= value_left - 0.01)
        for y, _, glyphs in lines
        if bottom < y <= top
    ]
    assert len(value_lines) >= 6
    joined = "".join(value_lines)
    assert joined.startswith("一般项目：技术服务")
    assert "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz" in joined
    assert "许可项目：第二类增值电信业务" in joined
    # The newline in the value starts a new line.
    assert any(line.startswith("许可项目") for line in value_lines)
    right = A4[0] - 72
    for y, _, glyphs in lines:
        if bottom < y <= top:
            assert glyphs[-1].end_x <= right + 0.01
            assert all(g.x >= value_left - 0.01 for g in glyphs if g.x > label_end)
    for line in value_lines:
        assert line[0] not in "，。、；：）》", f"a line starts with closing punctuation: {line}"


def test_every_glyph_is_inside_the_frame(font_name: str) -> None:
    for document in (business_license(), approval_decision((PARAGRAPH,) * 3)):
        for glyph in read_page(render_license(document, font_name).pdf).glyphs:
            box = glyph_box(glyph)
            assert box.x1 > 40 and box.x2 < A4[0] - 40, glyph
            assert box.y1 > 40 and box.y2 < A4[1] - 40, glyph


def test_a_long_decision_fits_on_its_page_in_smaller_type(font_name: str) -> None:
    paragraphs = tuple(f"{n}、{PARAGRAPH}" for n in "一二三四五六七八")
    assert all(len(p) >= 190 for p in paragraphs)
    document = approval_decision(paragraphs)
    rendered = render_license(document, font_name)
    assert_seal_and_qr_clear(rendered, document)
    lines = read_page(rendered.pdf).lines()
    [(facts_end, _, _)] = [line for line in lines if line[1].startswith("有效期")]
    seal_top = rendered.seal_box[3]
    body = [(text, glyphs) for y, text, glyphs in lines if seal_top < y < facts_end]
    text = "".join(t for t, _ in body)
    for paragraph in paragraphs:
        assert paragraph in text
    sizes = {g.size for _, glyphs in body for g in glyphs}
    assert len(sizes) == 1 and sizes.pop() >= 8.0
    right = A4[0] - 72
    assert all(glyphs[-1].end_x <= right + 0.01 for _, glyphs in body)
    # Each paragraph starts two characters in.
    left = min(glyphs[0].x for _, glyphs in body)
    for line, glyphs in body:
        indent = glyphs[0].x - left
        if line[1] == "、":
            assert indent == pytest.approx(2 * glyphs[0].size)
        else:
            assert indent == pytest.approx(0)


def test_text_that_cannot_fit_is_refused(font_name: str) -> None:
    with pytest.raises(LicenseTextTooLongError, match=r"does not fit on one page even at 8\.0 pt"):
        render_license(approval_decision((PARAGRAPH,) * 20), font_name)


def test_a_decision_needs_its_body(font_name: str) -> None:
    with pytest.raises(Exception, match="body paragraph"):
        render_license(approval_decision(()), font_name)


def test_the_page_declares_pdf_a_2b(font_name: str) -> None:
    rendered = render_license(business_license(), font_name)
    reader = PdfFileReader(io.BytesIO(rendered.pdf))
    [intent] = reader.root["/OutputIntents"]
    intent = intent.get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    assert int(intent["/DestOutputProfile"].get_object()["/N"]) == 3
    metadata = reader.root["/Metadata"].get_object()
    assert "/Filter" not in metadata  # PDF/A: metadata readable without decoding
    xmp = metadata.data.decode("utf-8")
    assert "<pdfaid:part>2</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    info = reader.trailer["/Info"]
    assert f'x-default">{info["/Title"]}<' in xmp
    assert f"<pdf:Producer>{info['/Producer']}</pdf:Producer>" in xmp
    assert str(info["/CreationDate"]) == "D:20261122000000+08'00'"
    assert "<xmp:CreateDate>2026-11-22T00:00:00+08:00</xmp:CreateDate>" in xmp
    assert "/Encrypt" not in reader.trailer
    assert isinstance(rendered, RenderedLicense)


def test_punctuation_stays_with_its_text_when_lines_break(font_name: str) -> None:
    # The line breaker itself: four ideographs fill a four-em line exactly.
    from trustsvc.documents.paragraphs import pieces, wrap

    def lines(text: str) -> list[str]:
        return [line.text for line in wrap(pieces(font_name, text), 4.0)]

    assert lines("一二三四五六") == ["一二三四", "五六"]
    # A closing mark never starts a line: it takes the character before along.
    assert lines("一二三四，五六") == ["一二三", "四，五六"]
    # An opening mark never ends a line.
    assert lines("一二三《四五》") == ["一二三", "《四五》"]
    # A Latin word moves down whole; one longer than the line is broken.
    assert lines("一二 ab") == ["一二 ab"]
    assert lines("一二三 abcdef") == ["一二三", "abcdef"]
    assert all(line for line in lines("abcdefghijklmnopqrstuvwxyz"))
