"""The images an article may show, embedded or fetched: their types, signatures and size cap."""

from __future__ import annotations

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
