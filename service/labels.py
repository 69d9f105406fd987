"""The words Broadsheet itself puts on a page, in the article's language where we have them.

Where a language is missing, English words are used and marked `lang="en"` so a screen
reader pronounces them correctly inside a page in another language.
"""

from __future__ import annotations

from dataclasses import dataclass

from .language import words_language

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "skip": "Skip to the article",
        "by": "By",
        "published": "Published",
        "updated": "Updated",
        "notes": "Notes",
        "note": "Note",
        "back_to": "Back to reference",
        "photo": "Photo:",
        "read_online": "Read online",
        "page": "Page",
        "of": "of",
        "unsubscribe": "Unsubscribe",
        "source": "Source:",
        "tags": "Tags",
        "tags_line": "Tags:",
    },
    "es": {
        "skip": "Saltar al artículo",
        "by": "Por",
        "published": "Publicado",
        "updated": "Actualizado",
        "notes": "Notas",
        "note": "Nota",
        "back_to": "Volver a la referencia",
        "photo": "Foto:",
        "read_online": "Leer en línea",
        "page": "Página",
        "of": "de",
        "unsubscribe": "Darse de baja",
        "source": "Fuente:",
        "tags": "Etiquetas",
        "tags_line": "Etiquetas:",
    },
    "fr": {
        "skip": "Aller à l’article",
        "by": "Par",
        "published": "Publié",
        "updated": "Mis à jour",
        "notes": "Notes",
        "note": "Note",
        "back_to": "Retour à la référence",
        "photo": "Photo\u00a0:",  # French: a no-break space before a colon
        "read_online": "Lire en ligne",
        "page": "Page",
        "of": "sur",
        "unsubscribe": "Se désabonner",
        "source": "Source\u00a0:",
        "tags": "Mots-clés",
        "tags_line": "Mots-clés\u00a0:",
    },
    "de": {
        "skip": "Zum Artikel springen",
        "by": "Von",
        "published": "Veröffentlicht",
        "updated": "Aktualisiert",
        "notes": "Anmerkungen",
        "note": "Anmerkung",
        "back_to": "Zurück zum Verweis",
        "photo": "Foto:",
        "read_online": "Online lesen",
        "page": "Seite",
        "of": "von",
        "unsubscribe": "Abbestellen",
        "source": "Quelle:",
        "tags": "Schlagwörter",
        "tags_line": "Schlagwörter:",
    },
    "pt": {
        "skip": "Ir para o artigo",
        "by": "Por",
        "published": "Publicado",
        "updated": "Atualizado",
        "notes": "Notas",
        "note": "Nota",
        "back_to": "Voltar à referência",
        "photo": "Foto:",
        "read_online": "Ler online",
        "page": "Página",
        "of": "de",
        "unsubscribe": "Cancelar inscrição",
        "source": "Fonte:",
        "tags": "Etiquetas",
        "tags_line": "Etiquetas:",
    },
    "ar": {
        "skip": "انتقل إلى المقال",
        "by": "بقلم",
        "published": "نُشر",
        "updated": "حُدّث",
        "notes": "ملاحظات",
        "note": "ملاحظة",
        "back_to": "العودة إلى الإحالة",
        "photo": "صورة:",
        "read_online": "اقرأ على الإنترنت",
        "page": "صفحة",
        "of": "من",
        "unsubscribe": "إلغاء الاشتراك",
        "source": "المصدر:",
        "tags": "الوسوم",
        "tags_line": "الوسوم:",
    },
    "he": {
        "skip": "דלג לכתבה",
        "by": "מאת",
        "published": "פורסם",
        "updated": "עודכן",
        "notes": "הערות",
        "note": "הערה",
        "back_to": "חזרה להפניה",
        "photo": "צילום:",
        "read_online": "לקריאה באתר",
        "page": "עמוד",
        "of": "מתוך",
        "unsubscribe": "הסרה מרשימת התפוצה",
        "source": "מקור:",
        "tags": "תגיות",
        "tags_line": "תגיות:",
    },
}


@dataclass(frozen=True, slots=True)
class Labels:
    """Interface words for one page, and the language they are in."""

    words: dict[str, str]
    language: str

    def __getitem__(self, key: str) -> str:
        return self.words[key]

    def lang_attr(self, page_language: str) -> str:
        """The lang attribute value to put on a label, or "" when it matches the page."""
        return "" if self.language == _primary(page_language) else self.language


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


def labels_for(language: str) -> Labels:
    """The words in `language`, or in the macrolanguage its readers read (Egyptian Arabic:
    Arabic's), else in English."""
    code = words_language(language, _LABELS) or "en"
    return Labels(_LABELS[code], code)


def counted(count: int, noun: str) -> str:
    """A count and its English noun, the noun plural but for one ("1 quick read", "2
    subscribers"): command output said "1 quick reads to 2 subscribers"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
