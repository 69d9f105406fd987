"""Finishing WeasyPrint's tagged PDF for PDF/UA where its tagging stops short.

WeasyPrint already tags headings, lists, tables, figures with /Alt and links. This pass
adds what it cannot know from HTML alone, and mends what it leaves loose:

- an image without alt text is decorative: its content becomes an /Artifact and its
  /Figure element leaves the structure tree;
- the text of page margin boxes (running heads, page numbers), which WeasyPrint tags under
  elements no path from the root reaches, becomes a pagination /Artifact;
- a note reference becomes /Reference, and each endnote's body a /Note with an /ID, listed
  in the tree's /IDTree;
- internal links get an /Alt and annotation /Contents that say what they do ("Note 2",
  "Back to reference 2a") instead of the bare destination name;
- a figure's /BBox is in the page's own coordinates (WeasyPrint writes CSS pixels from the
  top left; ISO 32000-1 §14.8.5.4.3 asks default user space, points from the bottom left);
- an element inside a link (a <span> or <em> in an <a>) gets no link annotation of its own:
  WeasyPrint gives every box inside a link one, tagged under that element and named by the
  bare destination, a second stop on the same spot for a keyboard or a screen reader; one
  placed apart from the link's own becomes another area of the link.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, Operator, String

# pikepdf types every lookup as a generic Object; a structure tree is dynamic by nature.
PdfObject = Any


def finish_tagging(data: bytes, link_labels: Mapping[str, str]) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        if root is not None:
            _drop_nested_links(pdf, root)
            parent_tree = _parent_tree(root)
            _label_links(root, link_labels)
            _mark_notes(pdf, root)
            _content_to_artifacts(pdf, root, parent_tree)
            _index_ids(pdf, root)
            _figure_boxes_in_user_space(root)
        output = io.BytesIO()
        pdf.save(
            output,
            deterministic_id=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            compress_streams=True,
        )
        return output.getvalue()


# CSS pixels per point: WeasyPrint draws each page under [0.75 0 0 -0.75 0 top].
_POINTS_PER_PIXEL = 0.75


def _figure_boxes_in_user_space(root: PdfObject) -> None:
    for element in _elements(root):
        attributes = element.get("/A")
        if element.get("/S") != Name.Figure or not isinstance(attributes, Dictionary):
            continue
        box, page = attributes.get("/BBox"), element.get("/Pg")
        if not isinstance(box, Array) or len(box) != 4 or page is None:
            continue
        left, _, _, top = (float(v) for v in page.MediaBox)
        x1, y1, x2, y2 = (float(v) * _POINTS_PER_PIXEL for v in box)
        attributes.BBox = Array([left + x1, top - y2, left + x2, top - y1])


def _elements(node: PdfObject) -> Iterator[PdfObject]:
    """Every structure element under `node`, depth first."""
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, Array) else [kids]:
        if isinstance(kid, Dictionary) and "/S" in kid:
            yield kid
            yield from _elements(kid)


def _kids(element: PdfObject) -> list:
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, Array) else [kids]


def _parent_tree(root: PdfObject) -> dict[int, PdfObject]:
    """Parent-tree key → the array mapping a page's MCIDs to structure elements."""
    nums = root.ParentTree.get("/Nums", Array())
    return {
        int(nums[i]): nums[i + 1]
        for i in range(0, len(nums) - 1, 2)
        if isinstance(nums[i + 1], Array)
    }


def _destination(link: PdfObject) -> str | None:
    for kid in _kids(link):
        if isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR:
            annotation = kid.Obj
            dest = annotation.get("/Dest")
            if isinstance(dest, String | Name):
                return str(dest).lstrip("/")
    return None


def _rect(annotation: PdfObject) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _within(inner: tuple[float, ...], outer: tuple[float, ...], slack: float = 0.5) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def _enclosing_link(element: PdfObject) -> PdfObject | None:
    parent = element.get("/P")
    while parent is not None and "/S" in parent:
        if parent.S == Name.Link:
            return parent
        parent = parent.get("/P")
    return None


def _drop_nested_links(pdf: pikepdf.Pdf, root: PdfObject) -> None:
    """Give each link annotation of an element inside a link to that link: dropped where it
    lies within one of the link's own, else (a box placed apart, such as a contents entry's
    page number) moved under the /Link element, where it is named with the link."""
    nums = root.ParentTree.get("/Nums", Array())
    owners = {
        int(nums[i]): nums[i + 1]
        for i in range(0, len(nums) - 1, 2)
        if isinstance(nums[i + 1], Dictionary)
    }
    dropped: set[int] = set()
    moved: dict[int, PdfObject] = {}
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if not annotations:
            continue
        own: dict[Any, list[tuple[float, float, float, float]]] = {}
        for annotation in annotations:
            element = owners.get(int(annotation.get("/StructParent", -1)))
            if element is not None and element.S == Name.Link:
                own.setdefault(element.objgen, []).append(_rect(annotation))
        kept = []
        for annotation in annotations:
            key = int(annotation.get("/StructParent", -1))
            element = owners.get(key)
            outer = _enclosing_link(element) if element is not None else None
            if element is None or outer is None:
                kept.append(annotation)
                continue
            reference = [
                k
                for k in _kids(element)
                if isinstance(k, Dictionary)
                and k.get("/Type") == Name.OBJR
                and k.Obj.objgen == annotation.objgen
            ]
            element.K = Array([k for k in _kids(element) if k not in reference])
            if any(_within(_rect(annotation), r) for r in own.get(outer.objgen, ())):
                dropped.add(key)
                continue
            outer.K = Array([*_kids(outer), *reference])
            moved[key] = outer
            kept.append(annotation)
        if len(kept) < len(annotations):
            page.obj.Annots = Array(kept)
    if dropped or moved:
        pairs: list[Any] = []
        for i in range(0, len(nums) - 1, 2):
            key = int(nums[i])
            if key not in dropped:
                pairs += [nums[i], moved.get(key, nums[i + 1])]
        root.ParentTree.Nums = Array(pairs)


def _first_language(element: PdfObject) -> PdfObject | None:
    for kid in _kids(element):
        if isinstance(kid, Dictionary) and "/S" in kid and "/Lang" in kid:
            return kid.Lang
    return None


# The key of link labels that holds their language, when it is not the document's: "/" is
# in no anchor. PDF/UA-1 §7.2: an /Alt in another language declares it.
LABELS_LANGUAGE = "/Lang"


def _label_links(root: PdfObject, labels: Mapping[str, str]) -> None:
    language = labels.get(LABELS_LANGUAGE)
    for element in list(_elements(root)):
        if element.S != Name.Link:
            continue
        dest = _destination(element)
        if dest is None or dest not in labels:
            continue
        element.Alt = String(labels[dest])
        for kid in _kids(element):
            if isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR:
                kid.Obj.Contents = String(labels[dest])
        # The /Alt is read instead of the link's content, so a language the content
        # declares (an Arabic headline in an English edition's contents) is the /Alt's too.
        if language is not None:
            element.Lang = String(language)  # the words of the /Alt, not of the link's content
        elif "/Lang" not in element and (lang := _first_language(element)) is not None:
            element.Lang = lang
        # A labelled link inside an untyped inline (the <sup> around it) is a note
        # reference; backlinks sit in the note's list item. Ids are not read, since an
        # article set among others carries a prefix on each.
        parent = element.get("/P")
        if parent is not None and parent.S == Name.NonStruct:
            parent.S = Name.Reference


def _mark_notes(pdf: pikepdf.Pdf, root: PdfObject) -> None:
    """Each item of the endnotes list (the one /Sect) gets its body wrapped in a /Note."""
    number = 0
    for section in (e for e in _elements(root) if e.S == Name.Sect):
        for lst in (
            k for k in _kids(section) if isinstance(k, Dictionary) and k.get("/S") == Name.L
        ):
            for item in _kids(lst):
                for body in _kids(item):
                    if not isinstance(body, Dictionary) or body.get("/S") != Name.LBody:
                        continue
                    kids = _kids(body)
                    if not kids or not all(isinstance(k, Dictionary) and "/S" in k for k in kids):
                        continue
                    number += 1
                    note = Dictionary(
                        S=Name.Note, P=body, K=Array(kids), ID=String(f"endnote-{number}")
                    )
                    if "/Pg" in body:
                        note.Pg = body.Pg
                    note = pdf.make_indirect(note)
                    for kid in kids:
                        kid.P = note
                    body.K = Array([note])


def _index_ids(pdf: pikepdf.Pdf, root: PdfObject) -> None:
    """The /IDTree a structure tree must have once any element has an /ID (the notes')."""
    ids = {str(e.ID): e for e in _elements(root) if "/ID" in e}
    if ids:
        names: list[Any] = []
        for key in sorted(ids, key=lambda k: k.encode("utf-8")):
            names += [String(key), ids[key]]
        root.IDTree = pdf.make_indirect(Dictionary(Names=Array(names)))


def _decorative_figures(
    root: PdfObject, mappings: dict[int, PdfObject], page_index: dict[Any, int]
) -> dict[int, set[int]]:
    """Page index → MCIDs of figures without alt text, whose elements leave the tree."""
    by_page: dict[int, set[int]] = {}
    for element in list(_elements(root)):
        if element.S != Name.Figure or str(element.get("/Alt", "")).strip():
            continue
        page = element.get("/Pg")
        mcids = [int(k) for k in _kids(element) if isinstance(k, int)]
        if page is None or not mcids:
            continue
        index = page_index.get(page.objgen)
        if index is None:
            continue
        by_page.setdefault(index, set()).update(mcids)
        parent = element.P
        parent.K = Array(
            [
                k
                for k in _kids(parent)
                if not (isinstance(k, Dictionary) and k.objgen == element.objgen)
            ]
        )
        for mcid in mcids:
            mapping = mappings.get(index)
            if mapping is not None and mcid < len(mapping):
                mapping[mcid] = None
    return by_page


def _page_furniture(root: PdfObject, mappings: dict[int, PdfObject]) -> dict[int, set[int]]:
    """Page index → MCIDs whose elements no path from the root reaches.

    WeasyPrint tags the text of page margin boxes (running heads, page numbers) as spans
    under a /NonStruct that its parent never lists: content in no reading order. It is
    pagination, so it becomes an artifact.
    """
    reachable = {element.objgen for element in _elements(root)}
    by_page: dict[int, set[int]] = {}
    for index, mapping in mappings.items():
        for mcid, element in enumerate(mapping):
            if isinstance(element, Dictionary) and element.objgen not in reachable:
                by_page.setdefault(index, set()).add(mcid)
                mapping[mcid] = None
    return by_page


def _content_to_artifacts(pdf: pikepdf.Pdf, root: PdfObject, parent_tree: dict[int, PdfObject]):
    """Decorative figures and page furniture become artifacts, in one rewrite per page."""
    page_index: dict[Any, int] = {page.objgen: index for index, page in enumerate(pdf.pages)}
    mappings = {
        index: parent_tree[int(page.StructParents)]
        for index, page in enumerate(pdf.pages)
        if int(page.get("/StructParents", -1)) in parent_tree
    }
    figures = _decorative_figures(root, mappings, page_index)
    furniture = _page_furniture(root, mappings)
    for index in sorted(set(figures) | set(furniture)):
        page_object: PdfObject = pdf.pages[index]
        instructions: list[Any] = []
        for operands, operator in pikepdf.parse_content_stream(page_object):  # type: ignore[misc]
            mcid = (
                int(operands[1].get("/MCID", -1))
                if str(operator) == "BDC"
                and len(operands) == 2
                and isinstance(operands[1], Dictionary)
                else -1
            )
            if mcid in figures.get(index, ()):
                instructions.append(([Name.Artifact], Operator("BMC")))
            elif mcid in furniture.get(index, ()):
                pagination = Dictionary(Type=Name.Pagination)
                instructions.append(([Name.Artifact, pagination], Operator("BDC")))
            else:
                instructions.append((operands, operator))
        page_object.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
