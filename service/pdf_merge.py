"""One PDF from an edition's parts, keeping what merge tools drop: the structure tree.

qpdf, and pikepdf over it, copy pages but not the tags that say what is on them, so every
merged book comes out untagged. Here each part's structure (what its /Document held) goes
under the edition's one /Document, after the front matter's, as one /Art carrying the
article's /Lang and title;
page /StructParents, annotation /StructParent and the /ParentTree are renumbered so every
marked-content reference still resolves; /IDTree and /RoleMap are carried over, element
IDs prefixed per part so they stay unique. Named destinations collide between parts (two
articles both have a `note-i`), so every link is turned into an explicit destination
before its part is copied. Then the outline (one entry per article, its headings
beneath), the page labels (front matter lower-roman, then 1, 2, 3…) and the folios.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from .folios import FolioFont
from .reading import prefix_for
from .templating import TEMPLATES_DIR

# pikepdf types every lookup as a generic Object; a structure tree is dynamic by nature.
PdfObject = Any


@dataclass(frozen=True, slots=True)
class PartFile:
    """One printed article waiting to be merged."""

    path: Path
    title: str  # its outline entry and the /T of its structure element
    language: str
    anchor: str  # the name the front matter's contents link uses for its first page


@dataclass
class _Heading:
    title: str
    page: int  # index in the merged document
    top: float | None
    children: list[_Heading] = field(default_factory=list)

    def shift(self, pages: int) -> None:
        self.page += pages
        for child in self.children:
            child.shift(pages)


class EditionMerge:
    """An edition's PDF, put together part by part as parts arrive, the front matter last.

    The front matter can only be printed once every part's page count is known, so each
    part is merged as soon as it and those before it are printed, and the front matter is
    put in front of them at the end.
    """

    def __init__(self, *, press: bool, identifier: str):
        self.press = press
        self.identifier = identifier
        self._stack = ExitStack()
        self.out = self._stack.enter_context(pikepdf.new())
        self.tags: _Tags | None = None
        self.outline: list[_Heading] = []  # page indexes counted from the first part
        self.starts: dict[str, PdfObject] = {}
        self.profiles: dict[bytes, PdfObject] = {}

    def __enter__(self) -> EditionMerge:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _tags(self) -> _Tags:
        if self.tags is None:
            self.tags = _Tags(self.out)
        return self.tags

    def add(self, part: PartFile, position: int) -> None:
        """Append one printed article: pages, structure, links made explicit, headings."""
        with pikepdf.open(part.path) as source:
            make_links_explicit(source, named_destinations(source))
            first = len(self.out.pages)
            headings = _outline_of(source, first)
            article = _gather_article(source, part)
            self.out.pages.extend(source.pages)
            pages = self.out.pages[first:]
            if article is not None:
                self._tags().add(
                    source, [article], pages, front=False, id_prefix=prefix_for(position)
                )
            _share_profiles(pages, self.profiles)
        # Closed at once, its object graph with it: qpdf reads the copied streams' data at
        # save time through its own hold on the source file, not through this Pdf.
        self.starts[part.anchor] = pages[0].obj
        self.outline.append(_article_heading(part, first, headings))

    def finish(self, front: bytes, folio_carrier: bytes) -> bytes:
        """Put the front matter first, number the pages, and write the edition."""
        out = self.out
        carrier = self._stack.enter_context(pikepdf.open(io.BytesIO(folio_carrier)))
        folio = FolioFont.from_pdf(carrier).copied_into(out)
        for number, page in enumerate(out.pages, start=1):
            turned = self.press and _landscape(page)
            if turned:
                # A press binds one trim size: a wide table's landscape page is shown
                # turned onto the portrait page, its top to the left (a broadside page).
                page.obj.Rotate = 270
            folio.stamp(out, page, number, cmyk=self.press, turned=turned)
        source = self._stack.enter_context(pikepdf.open(io.BytesIO(front)))
        names = named_destinations(source)
        make_links_explicit(source, names, keep=set(self.starts))
        count = len(source.pages)
        root = source.Root.get("/StructTreeRoot")
        kids = _document_kids(root) if root is not None else []
        for index, page in enumerate(source.pages):
            out.pages.insert(index, page)
        pages = out.pages[:count]
        if root is not None:
            self._tags().add(source, kids, pages, front=True)
        targets = {
            anchor: Array([page, Name.XYZ, None, _top(page), 0])
            for anchor, page in self.starts.items()
        }
        for page in pages:
            _explicit_annotations(page, targets)
        _share_profiles(pages, self.profiles)
        if self.press:
            _rgb_colour_managed(out)
        _subsets_named_apart(out)
        for key in ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata", "/OutputIntents"):
            if key in source.Root:
                out.Root[key] = _copied(out, source.Root[key])
        # The output intent names the profile the pages already share: one copy, not two.
        for intent in out.Root.get("/OutputIntents", Array()):
            if "/DestOutputProfile" in intent:
                intent.DestOutputProfile = _one_profile(intent.DestOutputProfile, self.profiles)
        out.trailer.Info = _copied(out, source.trailer.Info)
        if self.tags is not None:
            self.tags.finish()
        for heading in self.outline:
            heading.shift(count)
        _write_outline(out, self.outline)
        out.Root.PageLabels = Dictionary(
            Nums=Array([0, Dictionary(S=Name.r), count, Dictionary(S=Name.D, St=1)])
        )
        with out.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta["xmpMM:DocumentID"] = _uuid(self.identifier)
            meta["xmpMM:InstanceID"] = _uuid(self.identifier)
        output = io.BytesIO()
        out.save(
            output,
            min_version=source.pdf_version,
            deterministic_id=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            compress_streams=True,
        )
        return output.getvalue()


def _landscape(page: pikepdf.Page) -> bool:
    left, bottom, right, top = (float(v) for v in page.obj.get("/TrimBox", page.mediabox))
    return right - left > top - bottom


# A subset font's name: a tag of six capitals, "+", the font's own name (ISO 32000-1 §9.6.4).
_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")
_FONT_FILES = ("/FontFile2", "/FontFile3", "/FontFile")


def _subsets_named_apart(out: pikepdf.Pdf) -> None:
    """Give every subset font a tag of its own, made from its bytes.

    WeasyPrint tags the subsets of one document apart, but each part, the front matter and
    the folio font are documents of their own: an edition held different subsets under one
    name (a Noto Sans for each), which §9.6.4 forbids, and a RIP that caches fonts by name
    may draw one subset's glyphs from another's. Two copies of the same bytes keep one name.
    """
    for font in out.objects:
        if not isinstance(font, Dictionary) or font.get("/Type") != Name.Font:
            continue
        descendants = font.get("/DescendantFonts")
        described = descendants[0] if descendants else font  # a Type0 font's is its CIDFont's
        descriptor = described.get("/FontDescriptor")
        if descriptor is None or "/FontName" not in descriptor:
            continue
        file = next((descriptor[key] for key in _FONT_FILES if key in descriptor), None)
        if file is None:
            continue
        digest = hashlib.sha256(file.read_raw_bytes()).digest()
        tag = "".join(chr(ord("A") + byte % 26) for byte in digest[:6])
        for holder, key in ((descriptor, "/FontName"), (font, "/BaseFont")):
            name = str(holder.get(key, ""))[1:]
            if _SUBSET_TAG.match(name):
                holder[key] = Name("/" + tag + name[6:])


# sRGB (IEC 61966-2-1) as an ICC v4 profile, made with Pillow's ImageCms.createProfile("sRGB")
# (LittleCMS), its creation date fixed so that an edition's bytes never change with the day.
SRGB_PROFILE = TEMPLATES_DIR / "editions" / "press-srgb.icc"


def _rgb_colour_managed(out: pikepdf.Pdf) -> None:
    """PDF/X-4 takes RGB only colour-managed (ISO 15930-7 §6.2.4.3): the photos and
    WeasyPrint's crop marks are DeviceRGB, so every page and form says what that RGB is,
    sRGB, as its /DefaultRGB (ISO 32000-1 §8.6.5.6), and the printer converts it to the
    output intent's CMYK. Type and rules are already CMYK (editions/press.css)."""
    profile = out.make_stream(SRGB_PROFILE.read_bytes(), N=3, Alternate=Name.DeviceRGB)
    space = out.make_indirect(Array([Name.ICCBased, profile]))
    visited: set = set()
    for page in out.pages:
        _default_rgb_in(page.obj, space, visited)


def _default_rgb_in(holder: PdfObject, space: PdfObject, visited: set) -> None:
    if holder.is_indirect:
        if holder.objgen in visited:
            return
        visited.add(holder.objgen)
    if "/Resources" not in holder:
        holder.Resources = Dictionary()
    resources = holder.Resources
    if "/ColorSpace" not in resources:
        resources.ColorSpace = Dictionary()
    resources.ColorSpace.DefaultRGB = space
    for xobject in resources.get("/XObject", Dictionary()).values():
        if xobject.get("/Subtype") == Name.Form:
            _default_rgb_in(xobject, space, visited)


def _copied(out: pikepdf.Pdf, value: PdfObject) -> PdfObject:
    """A foreign object made this document's own, direct containers included."""
    if isinstance(value, Dictionary | Array | pikepdf.Stream) and value.is_indirect:
        return out.copy_foreign(value)
    if isinstance(value, Array):
        return Array([_copied(out, item) for item in value])
    if isinstance(value, Dictionary):
        return Dictionary({key: _copied(out, item) for key, item in value.items()})
    return value


def _uuid(identifier: str) -> str:
    digest = hashlib.sha256(identifier.encode()).hexdigest()
    return f"uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _top(page: PdfObject) -> float:
    box = page.get("/TrimBox", page.MediaBox)
    return float(box[3])


def _share_profiles(pages: Iterable[pikepdf.Page], seen: dict[bytes, PdfObject]) -> None:
    """Point every part's copy of an ICC profile (the press profile) at the first one."""
    visited: set = set()
    for page in pages:
        _share_in(page.obj, seen, visited)


def _share_in(holder: PdfObject, seen: dict[bytes, PdfObject], visited: set) -> None:
    """Colour spaces of a page or form XObject: its own, its group's, and its forms'."""
    if holder.is_indirect:
        if holder.objgen in visited:
            return
        visited.add(holder.objgen)
    group = holder.get("/Group")
    if isinstance(group, Dictionary) and "/CS" in group:
        group.CS = _shared(group.CS, seen)
    resources = holder.get("/Resources", Dictionary())
    spaces = resources.get("/ColorSpace", Dictionary())
    for name, space in spaces.items():
        spaces[name] = _shared(space, seen)
    for xobject in resources.get("/XObject", Dictionary()).values():
        if xobject.get("/Subtype") == Name.Form:
            _share_in(xobject, seen, visited)


def _shared(space: PdfObject, seen: dict[bytes, PdfObject]) -> PdfObject:
    if not (isinstance(space, Array) and len(space) == 2 and space[0] == Name.ICCBased):
        return space
    return Array([Name.ICCBased, _one_profile(space[1], seen)])


def _one_profile(profile: PdfObject, seen: dict[bytes, PdfObject]) -> PdfObject:
    """The first profile seen with these bytes."""
    return seen.setdefault(hashlib.sha256(profile.read_raw_bytes()).digest(), profile)


# Destinations ---------------------------------------------------------------------------


def named_destinations(pdf: pikepdf.Pdf) -> dict[str, PdfObject]:
    """Name → explicit destination array, from the /Dests name tree and the old dictionary."""
    found: dict[str, PdfObject] = {}
    names = pdf.Root.get("/Names")
    if names is not None and "/Dests" in names:
        for name, value in pikepdf.NameTree(names.Dests).items():
            found[str(name)] = value
    old = pdf.Root.get("/Dests")
    if isinstance(old, Dictionary):
        for key, value in old.items():
            found[key.lstrip("/")] = value
    return {
        name: value.D if isinstance(value, Dictionary) else value for name, value in found.items()
    }


def make_links_explicit(
    pdf: pikepdf.Pdf, names: dict[str, PdfObject], keep: Set[str] = frozenset()
) -> None:
    """Every named link becomes explicit, but for the names in `keep` (resolved later)."""
    for page in pdf.pages:
        _explicit_annotations(page, names, keep)


def _explicit_annotations(
    page: pikepdf.Page, names: dict[str, PdfObject], keep: Set[str] = frozenset()
) -> None:
    for annotation in page.obj.get("/Annots", Array()):
        dest = annotation.get("/Dest")
        if isinstance(dest, String | Name):
            _retarget(annotation, "/Dest", str(dest).lstrip("/"), names, keep)
        action = annotation.get("/A")
        if isinstance(action, Dictionary) and action.get("/S") == Name.GoTo:
            target = action.get("/D")
            if isinstance(target, String | Name):
                _retarget(action, "/D", str(target).lstrip("/"), names, keep)


def _retarget(
    holder: PdfObject, key: str, name: str, names: dict[str, PdfObject], keep: Set[str]
) -> None:
    if name in keep:
        return
    explicit = names.get(name)
    if explicit is None:
        del holder[key]  # a link to nowhere stays a link, but no longer into another part
    else:
        holder[key] = Array(list(explicit))


# Outline --------------------------------------------------------------------------------


def _outline_of(source: pikepdf.Pdf, offset: int) -> list[_Heading]:
    index_of = {page.objgen: i for i, page in enumerate(source.pages)}
    outlines = source.Root.get("/Outlines")
    return list(_headings(outlines.get("/First"), index_of, offset)) if outlines else []


def _headings(item: PdfObject, index_of: dict, offset: int) -> Iterator[_Heading]:
    while item is not None:
        dest = item.get("/Dest")
        if isinstance(dest, Array) and len(dest) and dest[0].objgen in index_of:
            top = dest[3] if len(dest) > 3 and dest[1] == Name.XYZ else None
            yield _Heading(
                str(item.Title),
                offset + index_of[dest[0].objgen],
                float(top) if top is not None else None,
                list(_headings(item.get("/First"), index_of, offset)),
            )
        item = item.get("/Next")


def _article_heading(part: PartFile, first: int, headings: list[_Heading]) -> _Heading:
    """The part's headline entry, with every other heading of the part beneath it."""
    if not headings:
        return _Heading(part.title, first, None)
    head, rest = headings[0], headings[1:]
    return _Heading(part.title, head.page, head.top, head.children + rest)


def _write_outline(out: pikepdf.Pdf, headings: list[_Heading]) -> None:
    def item(heading: _Heading) -> pikepdf.OutlineItem:
        page = out.pages[heading.page].obj
        top = heading.top if heading.top is not None else _top(page)
        entry = pikepdf.OutlineItem(
            heading.title, destination=Array([page, Name.XYZ, None, top, 0])
        )
        entry.children.extend(item(child) for child in heading.children)
        return entry

    with out.open_outline() as outline:
        outline.root[:] = [item(heading) for heading in headings]


# Structure ------------------------------------------------------------------------------


def _kids(element: PdfObject) -> list:
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, Array) else [kids]


def _elements(node: PdfObject) -> Iterator[PdfObject]:
    for kid in _kids(node):
        if isinstance(kid, Dictionary) and "/S" in kid:
            yield kid
            yield from _elements(kid)


def _parent_tree(root: PdfObject) -> dict[int, PdfObject]:
    """Every /Nums entry of a parent tree, its kids included."""
    entries: dict[int, PdfObject] = {}
    if "/ParentTree" in root:
        for key, value in pikepdf.NumberTree(root.ParentTree).items():
            entries[int(key)] = value
    return entries


def _document_kids(root: PdfObject) -> list:
    """The top-level elements of a structure tree, inside its /Document if it has one."""
    kids = _kids(root)
    if len(kids) == 1 and kids[0].get("/S") == Name.Document:
        return _kids(kids[0])
    return kids


def _gather_article(source: pikepdf.Pdf, part: PartFile) -> PdfObject:
    """Before a part's pages are copied: its elements under one /Art."""
    root = source.Root.get("/StructTreeRoot")
    if root is None:
        return None
    kids = _document_kids(root)
    article = source.make_indirect(
        Dictionary(
            Type=Name.StructElem,
            S=Name.Art,
            T=String(part.title),
            Lang=String(part.language),
            K=Array(kids),
        )
    )
    for kid in kids:
        if isinstance(kid, Dictionary) and "/S" in kid:
            kid.P = article
    return article


def _prefix_headers(element: PdfObject, prefix: str) -> None:
    """A table cell's /Headers name its header cells by /ID: they follow the IDs' rename."""
    attributes = element.get("/A")
    for owner in attributes if isinstance(attributes, Array) else [attributes]:
        if isinstance(owner, Dictionary) and isinstance(owner.get("/Headers"), Array):
            owner.Headers = Array([String(f"{prefix}{h}") for h in owner.Headers])


class _Tags:
    """The merged structure tree: one /Document, the front matter's elements, then each /Art."""

    def __init__(self, out: pikepdf.Pdf):
        self.out = out
        self.root = out.Root.StructTreeRoot = out.make_indirect(
            Dictionary(Type=Name.StructTreeRoot)
        )
        self.document = out.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.Document, P=self.root)
        )
        self.root.K = Array([self.document])
        self.front: list[PdfObject] = []
        self.body: list[PdfObject] = []
        self.entries: dict[int, PdfObject] = {}
        self.next_key = 0
        self.ids: dict[str, PdfObject] = {}
        self.role_map: dict[str, PdfObject] = {}
        self.class_map: dict[str, PdfObject] = {}

    def add(
        self,
        source: pikepdf.Pdf,
        elements: list,
        pages: Sequence[pikepdf.Page],
        *,
        front: bool,
        id_prefix: str = "",
    ) -> None:
        """After `pages` were copied from `source`: its `elements`, parent tree and keys."""
        root = source.Root.StructTreeRoot
        elements = [e for e in elements if isinstance(e, Dictionary) and "/S" in e]
        named = []
        for element in elements:
            if "/P" in element:  # its old parent is not coming along
                del element["/P"]
            for found in [element, *_elements(element)]:
                if "/ID" in found:
                    found.ID = String(f"{id_prefix}{found.ID}")
                    named.append(found)
                if id_prefix:
                    _prefix_headers(found, id_prefix)
        entries = _parent_tree(root)
        # One copy for the lot: the elements, those with IDs, every parent-tree value.
        bundle = self.out.copy_foreign(
            source.make_indirect(Array([*elements, *named, *entries.values()]))
        )
        copied = list(bundle)
        for element in copied[: len(elements)]:
            element.P = self.document
        (self.front if front else self.body).extend(copied[: len(elements)])
        for element in copied[len(elements) : len(elements) + len(named)]:
            self.ids[str(element.ID)] = element
        offset = self.next_key
        for key, value in zip(entries, copied[len(elements) + len(named) :], strict=True):
            self.entries[key + offset] = value
        self.next_key = offset + max(
            int(root.get("/ParentTreeNextKey", 0)), max(entries, default=-1) + 1
        )
        for page in pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", Array()):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        for name, value in root.get("/RoleMap", {}).items():
            self.role_map.setdefault(name, value)
        for name, value in root.get("/ClassMap", {}).items():
            if name not in self.class_map:
                self.class_map[name] = self._copy(value)

    def _copy(self, value: PdfObject) -> PdfObject:
        return _copied(self.out, value)

    def finish(self) -> None:
        self.document.K = Array([*self.front, *self.body])
        nums: list = []
        for number in sorted(self.entries):
            nums += [number, self.entries[number]]
        self.root.ParentTree = self.out.make_indirect(Dictionary(Nums=Array(nums)))
        self.root.ParentTreeNextKey = self.next_key
        if self.ids:
            names: list = []
            for key in sorted(self.ids, key=lambda k: k.encode("utf-8")):
                names += [String(key), self.ids[key]]
            self.root.IDTree = self.out.make_indirect(Dictionary(Names=Array(names)))
        if self.role_map:
            self.root.RoleMap = Dictionary(self.role_map)
        if self.class_map:
            self.root.ClassMap = Dictionary(self.class_map)
