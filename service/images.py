"""The images an article may show, embedded or fetched: their types, signatures and size cap."""

from __future__ import annotations

import base64
import binascii
import io
import struct

from PIL.JpegImagePlugin import JpegImageFile

# Media type → the bytes a file of that type starts with.
IMAGE_TYPES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
# One cap for an image however it arrives: a data: URI in the article or an https fetch.
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def is_image_of_type(data: bytes, media_type: str) -> bool:
    """True when `data` starts the way a file of `media_type` does (checked, not trusted)."""
    signatures = IMAGE_TYPES.get(media_type)
    if not signatures or not data.startswith(signatures):
        return False
    return media_type != "image/webp" or data[8:12] == b"WEBP"


# Decoding costs about 8 bytes a pixel in a printer process, whatever the file's size: a
# 657 KB PNG of 13,000 by 13,000 pixels took one to 1.6 GB. 25 megapixels holds a camera's
# 6,000 by 4,000 photo; an article's images together may hold 40 (service/budgets.py).
MAX_IMAGE_PIXELS = 25_000_000


def pixel_size(data: bytes, media_type: str) -> tuple[int, int] | None:
    """Width and height from the image's header, without decoding it; None if unreadable."""
    try:
        if media_type == "image/png" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if media_type == "image/gif":
            return _gif_size(data)
        if media_type == "image/webp":
            return _webp_size(data)
        if media_type == "image/jpeg":
            # Pillow's JPEG reader stops at the first scan: markers are read, pixels are not.
            with JpegImageFile(io.BytesIO(data)) as image:
                return image.size
    except (struct.error, OSError, SyntaxError, ValueError):
        return None
    return None


# Sub-blocks read before a GIF's first frame is given up as unreadable: real files have a
# handful of extensions (XMP's raw bytes read as a few thousand), a hostile one millions.
_GIF_MAX_SUB_BLOCKS = 100_000


def _gif_size(data: bytes) -> tuple[int, int] | None:
    """The canvas a GIF's first frame is decoded on: its logical screen, widened when the
    frame reaches past it (Pillow then decodes the whole frame, so a 1 by 1 screen could
    hide 49 megapixels). None when no frame can be found."""
    width, height, flags = struct.unpack("<HHB", data[6:11])
    offset = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    budget = _GIF_MAX_SUB_BLOCKS
    while offset < len(data) and budget > 0:
        block = data[offset]
        if block == 0x2C:  # the first image descriptor: where, and how large, the frame is
            left, top, frame_width, frame_height = struct.unpack(
                "<HHHH", data[offset + 1 : offset + 9]
            )
            return max(width, left + frame_width), max(height, top + frame_height)
        if block != 0x21:  # neither a frame nor an extension (the trailer, or not a GIF)
            return None
        offset += 2  # the introducer and the extension's label, then its sub-blocks
        budget -= 1  # an extension counts, sub-blocks or none: an empty one is not free
        while offset < len(data) and data[offset] and budget > 0:
            offset += data[offset] + 1
            budget -= 1
        offset += 1
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """The canvas of a WebP file, from its first chunk (lossy, lossless or extended)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def pixels_problem(data: bytes, media_type: str) -> str | None:
    """Why the image may not be decoded (its size unreadable, or too many pixels), or None."""
    size = pixel_size(data, media_type)
    if size is None:
        return "its width and height cannot be read from it"
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        return (
            f"it has {width * height:,} pixels ({width:,} by {height:,}); "
            f"the limit is {MAX_IMAGE_PIXELS:,}"
        )
    return None


def embedded_pixels(src: str) -> int:
    """The pixels of a data: URI's image; 0 when unreadable (validation then says why)."""
    size = embedded_size(src)
    return size[0] * size[1] if size else 0


def embedded_size(src: str) -> tuple[int, int] | None:
    """The width and height of a data: URI's image, read from its header; None when `src`
    is no data: URI or its image cannot be read."""
    if src[:5].lower() != "data:":
        return None
    header, _, payload = src[5:].partition(",")
    media_type = header.partition(";")[0].lower()
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    return pixel_size(data, media_type)
