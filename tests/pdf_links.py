"""Link annotations of a tagged PDF, as a reader with a pointer or a screen reader meets them."""

from __future__ import annotations

import pikepdf


def link_annotations(pdf):
    """(page number, link annotation, the structure element that owns it) of a tagged PDF."""
    tree = {int(k): v for k, v in pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree).items()}
    for number, page in enumerate(pdf.pages, start=1):
        for annotation in page.get("/Annots", []):
            if annotation.get("/Subtype") == "/Link":
                yield number, annotation, tree.get(int(annotation.get("/StructParent", -1)))


def assert_one_clickable_link_each(pdf) -> int:
    """Every link annotation has an area to click and belongs to a /Link element, none
    lies inside another of the same link, and none is named by a bare anchor."""
    count = 0
    for number, annotation, element in link_annotations(pdf):
        where = (number, str(annotation.get("/Contents")))
        x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
        assert abs(y2 - y1) >= 4, where
        assert abs(x2 - x1) >= 2, where
        assert element is not None, where
        assert element.S == "/Link", where
        if "/Dest" in annotation:
            assert str(annotation.Contents) != str(annotation.Dest).lstrip("/"), where
        count += 1
    return count
