"""What the clerk's desk reads: scanner text through a Chinese input method, photos of QR codes."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from trustsvc.errors import InvalidInputError
from trustsvc.verification.qr_photo import DECODE_SIDE, MAX_PHOTO_BYTES, read_qr_photo
from trustsvc.verification.scanned import MAX_SCANNED, ScannedKind, read_scanned

TOKEN = "0oRYTaMBJgRI" + "a" * 200 + "_-Zz9"
IDENTIFIER = "1.2.156.3005.2.11100000MB0000019L001.11330100MB0000001R.20263985453477071961.001.F"


def _full_width(text: str) -> str:
    """What an input method in full-width mode types for ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        (f"https://trust.example.gov.cn/v/{TOKEN}", ScannedKind.TOKEN, TOKEN),
        (f"http://127.0.0.1:8000/v/{TOKEN}\r\n", ScannedKind.TOKEN, TOKEN),
        (_full_width(f"https://trust.example.gov.cn/v/{TOKEN}"), ScannedKind.TOKEN, TOKEN),
        # Chinese punctuation mode: . / _ typed as 。、——
        (
            f"https：、、trust。example。gov。cn、v、{TOKEN}".replace("_", "——"),
            ScannedKind.TOKEN,
            TOKEN,
        ),
        (f"  {TOKEN}\u3000", ScannedKind.TOKEN, TOKEN),
        (IDENTIFIER.lower(), ScannedKind.IDENTIFIER, IDENTIFIER),
        (_full_width(IDENTIFIER), ScannedKind.IDENTIFIER, IDENTIFIER),
        (IDENTIFIER.replace(".", "。"), ScannedKind.IDENTIFIER, IDENTIFIER),
        ("3301002026000001", ScannedKind.NUMBER, "3301002026000001"),
        (_full_width("3301002026000001"), ScannedKind.NUMBER, "3301002026000001"),
        (
            "浙（2026）杭州市不动产权第0001234号",
            ScannedKind.NUMBER,
            "浙(2026)杭州市不动产权第0001234号",
        ),
        ("330100 2026 000001", ScannedKind.NUMBER, "3301002026000001"),
        ("\u200b3301002026000001\u202e", ScannedKind.NUMBER, "3301002026000001"),
    ],
)
def test_scanner_text_is_read_through_the_input_method(
    typed: str, kind: ScannedKind, value: str
) -> None:
    scanned = read_scanned(typed)
    assert (scanned.kind, scanned.value) == (kind, value)


@pytest.mark.parametrize(
    "typed",
    ["", "   \u3000", "<script>alert(1)</script>", "a" * 65 + "!", "x" * (MAX_SCANNED + 1)],
)
def test_what_is_none_of_them_is_refused_in_chinese(typed: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        read_scanned(typed)
    assert any("\u4e00" <= c <= "\u9fff" for c in refused.value.message)


def _qr_png(text: str, scale: int = 6, canvas: tuple[int, int] | None = None) -> bytes:
    code = memoryview(
        zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(
            scale=scale
        )
    )
    image = Image.frombytes("L", (code.shape[1], code.shape[0]), bytes(code))
    if canvas is not None:
        photo = Image.new("L", canvas, 235)
        photo.paste(image, (canvas[0] // 3, canvas[1] // 3))
        image = photo
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_a_photo_of_a_qr_code_is_read() -> None:
    link = f"https://trust.example.gov.cn/v/{TOKEN}"
    assert read_qr_photo(_qr_png(link)) == [link]


def test_a_large_jpeg_is_decoded_small_and_still_read() -> None:
    link = f"https://trust.example.gov.cn/v/{TOKEN}"
    png = _qr_png(link, scale=14, canvas=(6000, 4000))
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, format="JPEG", quality=90)
    assert max(Image.open(io.BytesIO(out.getvalue())).size) > DECODE_SIDE
    assert read_qr_photo(out.getvalue()) == [link]


def test_a_photo_without_a_code_reads_nothing() -> None:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 180, 160)).save(out, format="JPEG")
    assert read_qr_photo(out.getvalue()) == []


def _bomb(width: int, height: int) -> bytes:
    """A PNG of ``width`` × ``height`` blank pixels: small on the wire, huge when decoded."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG", optimize=True)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "没有收到照片"),
        (b"\xff" * (MAX_PHOTO_BYTES + 1), "超过"),
        (b"%PDF-1.7\n not a photo", "无法读取照片"),
        (b"GIF89a" + b"\x00" * 100, "无法读取照片"),
        (_qr_png("x")[:60], "损坏"),
    ],
)
def test_what_is_not_a_photo_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        read_qr_photo(data)


@pytest.mark.parametrize(("width", "height"), [(9000, 8000), (20000, 20000)])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(width: int, height: int) -> None:
    bomb = _bomb(width, height)
    assert len(bomb) < 200_000
    with pytest.raises(InvalidInputError, match="像素过多"):
        read_qr_photo(bomb)
