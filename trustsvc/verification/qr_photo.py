"""Reading the QR code in a photo: what a clerk's device camera took of a license or a phone.

An uploaded image is hostile until read: its size is bounded before it is
opened, only the formats a camera or a screenshot gives are opened (JPEG,
PNG, WebP), its dimensions are read from the header and refused above
``MAX_PIXELS`` before a single pixel is decoded (Pillow's own decompression
-bomb check is stricter still), and a large photo is decoded at a reduced
scale (JPEG's DCT scaling, Pillow's ``draft``), so a 48-megapixel photo costs
what a 3-megapixel one does. zxing-cpp then looks for QR codes only (reading
every format, page text now and then decodes as a one-dimensional barcode).
"""

from __future__ import annotations

import io
import warnings

import zxingcpp
from PIL import Image, UnidentifiedImageError

from trustsvc.errors import InvalidInputError

#: The largest photo accepted, as uploaded: a phone's full-resolution JPEG fits.
MAX_PHOTO_BYTES = 20 * 1024 * 1024
#: The most pixels a photo may have (a 48-megapixel camera's, with room).
MAX_PIXELS = 64_000_000
#: The longest side a photo is decoded at: a license's QR code photographed whole
#: keeps several pixels per module at this size.
DECODE_SIDE = 3000
_FORMATS = ("JPEG", "PNG", "WEBP")


def read_qr_photo(data: bytes) -> list[str]:
    """The text of every QR code in the photo, in the order found; [] if none.

    ``InvalidInputError`` (in Chinese and English) for what is not a photo one
    may open.
    """
    if not data:
        raise InvalidInputError("没有收到照片 · No photo was received")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInputError(
            f"照片超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB · The photo is larger than "
            f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB"
        )
    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning is an error here, not a line in a log.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InvalidInputError(
                        "照片像素过多 · The photo has too many pixels "
                        f"({width}×{height}; at most {MAX_PIXELS:,})"
                    )
                if image.format == "JPEG":
                    image.draft("L", (DECODE_SIDE, DECODE_SIDE))
                picture = image.convert("L")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInputError(
            f"照片像素过多 · The photo has too many pixels (at most {MAX_PIXELS:,})"
        ) from None
    except UnidentifiedImageError:
        raise InvalidInputError(
            "无法读取照片：请上传 JPEG、PNG 或 WebP 图片 · Not a JPEG, PNG or WebP photo"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:  # a damaged or cut-off file
        raise InvalidInputError(f"照片已损坏，无法读取 · The photo is damaged ({exc})") from None
    if max(picture.size) > DECODE_SIDE:
        picture.thumbnail((DECODE_SIDE, DECODE_SIDE))
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    found = zxingcpp.read_barcodes(picture, formats=qr_only)
    return [result.text for result in found if result.text]


__all__ = ["DECODE_SIDE", "MAX_PHOTO_BYTES", "MAX_PIXELS", "read_qr_photo"]
