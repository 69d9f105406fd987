"""Every subscription page, its error states, and the digest in the browser pass axe-core and
the Nu HTML Checker; the digest e-mail passes axe at levels A and AA."""

from __future__ import annotations

import quopri
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from lxml import html as lxml_html

from digests.assemble import assemble
from digests.render import render_digest
from service import create_app
from service.messages import build_message
from service.storage.schema import upgrade
from service.tokens import Purpose

from .digest_articles import quick_read

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
EMAIL_AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TOKEN = "pages-test-api-token"


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    """Each page as a browser receives it, by name."""
    folder = tmp_path_factory.mktemp("pages")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "pages-secret",
            "DATABASE_URL": f"sqlite:///{folder / 'pages.sqlite3'}",
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Northside Brief",
            "PUBLISHER_ADDRESS": "1 Test Street, Testville",
            "API_TOKEN": TOKEN,
            "MAIL_RELAY": False,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_SIGNUP_ADDRESS": "1 per hour",
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    client = app.test_client()
    browser = {"Accept": "text/html"}
    found: dict[str, tuple[int, str]] = {}

    def keep(name: str, response, status: int) -> None:
        assert response.status_code == status, name
        assert response.mimetype == "text/html", name
        found[name] = (status, response.get_data(as_text=True))

    keep("form", client.get("/subscribe"), 200)
    token = lxml_html.document_fromstring(found["form"][1]).xpath("//input[@name='csrf_token']")
    csrf = token[0].get("value")
    form = "application/x-www-form-urlencoded"
    keep(
        "form-with-errors",
        client.post(
            "/subscribe",
            data={"email": "nope", "name": "x" * 300, "csrf_token": csrf},
            content_type=form,
        ),
        422,
    )
    # Characters no page may hold, shown again as U+FFFD beside the error naming them.
    keep(
        "form-with-forbidden-characters",
        client.post(
            "/subscribe",
            data={"email": "a\x00b@example.org", "name": "x\x01y\ufdd0", "csrf_token": csrf},
            content_type=form,
        ),
        422,
    )
    assert 'value="x\ufffdy\ufffd"' in found["form-with-forbidden-characters"][1]
    keep(
        "form-expired",
        client.post("/subscribe", data={"email": "a@example.org"}, content_type=form),
        400,
    )
    keep(
        "check-your-inbox",
        client.post(
            "/subscribe", data={"email": "a@example.org", "csrf_token": csrf}, content_type=form
        ),
        200,
    )
    keep(
        "sign-up-too-often",
        client.post(
            "/subscribe",
            data={"email": "a@example.org", "csrf_token": csrf},
            content_type=form,
            headers=browser,
        ),
        429,
    )
    subscriptions = runtime.subscriptions
    unsubscribe = runtime.tokens.sign(Purpose.UNSUBSCRIBE, 1)
    row = subscriptions.subscriber_to_unsubscribe(unsubscribe)
    confirm = subscriptions.confirm_url(row).removeprefix("https://news.example.org")
    keep("confirm", client.get(confirm), 200)
    keep("confirmed", client.post(confirm), 200)
    keep("confirm-link-broken", client.get("/subscribe/confirm/not-a-token", headers=browser), 404)
    keep("unsubscribe", client.get(f"/unsubscribe/{unsubscribe}"), 200)
    keep("unsubscribed", client.post(f"/unsubscribe/{unsubscribe}"), 200)
    keep("unsubscribe-link-broken", client.get("/unsubscribe/x.y.z", headers=browser), 404)

    auth = {"Authorization": f"Bearer {TOKEN}"}
    for article in (
        {
            "id": "bike-lanes",
            "kind": "quick-read",
            "headline": "Council approves <em>protected</em> bike lanes",
            "standfirst": "A 7–2 vote funds 4.2 km of separated lanes.",
            "section": "City",
            "published_at": "2026-03-11T09:00:00Z",
            "body": [{"type": "paragraph", "text": "The council voted on Tuesday."}],
        },
        {
            "id": "souk",
            "kind": "quick-read",
            "language": "ar",
            "headline": "افتتاح السوق الجديد",
            "published_at": "2026-03-11T10:00:00Z",
            "body": [
                {"type": "paragraph", "text": "افتتح السوق الجديد صباح اليوم في وسط المدينة."}
            ],
        },
    ):
        assert (
            client.put(f"/v1/articles/{article['id']}", json=article, headers=auth).status_code
            == 201
        )
    keep("digest", client.get("/digests/2026-03-12"), 200)
    keep("no-digest", client.get("/digests/2026-01-01", headers=browser), 404)
    runtime.press.close()
    runtime.engine.dispose()
    return {name: html for name, (_, html) in found.items()}


@pytest.fixture(scope="module")
def nu_results(pages, nu_checker, tmp_path_factory):
    return nu_checker(pages, tmp_path_factory.mktemp("nu"))


PAGES = [
    "form",
    "form-with-errors",
    "form-expired",
    "check-your-inbox",
    "sign-up-too-often",
    "confirm",
    "confirmed",
    "confirm-link-broken",
    "unsubscribe",
    "unsubscribed",
    "unsubscribe-link-broken",
    "digest",
    "no-digest",
]


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_on_the_pages(pages, axe, name, scheme):
    violations = axe(pages[name], AXE_TAGS, color_scheme=scheme)
    summary = [(v["id"], v["help"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations]
    assert summary == []


@pytest.mark.parametrize("name", PAGES)
def test_the_nu_checker_finds_no_errors_on_the_pages(nu_results, name):
    assert [(m.get("lastLine"), m["message"]) for m in nu_results[name]] == []


def test_the_digest_page_shows_the_mail_s_items_in_order(pages):
    page = lxml_html.document_fromstring(pages["digest"])
    items = page.xpath("//main//ol/li")
    assert [" ".join(li.xpath(".//h2")[0].text_content().split()) for li in items] == [
        "Council approves protected bike lanes",
        "افتتاح السوق الجديد",
    ]
    assert items[1].get("lang") == "ar"
    assert items[1].get("dir") == "rtl"
    assert page.xpath("//h2/a/@href") == [
        "https://news.example.org/articles/bike-lanes",
        "https://news.example.org/articles/souk",
    ]


def _digest_of(articles, settings, day=date(2026, 3, 12)):
    """The digest for `day` (UTC) of `articles`, as the daily run would assemble it."""
    return assemble(articles, day, settings.digest_time, ZoneInfo("UTC"), settings)


def _digest_email(app) -> str:

    runtime = app.extensions["broadsheet"]
    articles = [
        quick_read("one", "2026-03-11T09:00:00Z", section="City"),
        quick_read(
            "two", "2026-03-11T10:00:00Z", language="he", headline="כותרת", standfirst="תקציר."
        ),
    ]
    digest = _digest_of(articles, runtime.settings)
    body = render_digest(digest, runtime.env, runtime.settings, runtime.inliner)
    return body.personalise(unsubscribe_url="https://news.example.org/unsubscribe/t").html


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_digest_email_passes_axe_at_a_and_aa(app, axe, scheme):
    violations = axe(_digest_email(app), EMAIL_AXE_TAGS, color_scheme=scheme)
    assert [(v["id"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations] == []


def test_the_digest_email_passes_the_nu_checker(app, nu_checker, tmp_path):
    results = nu_checker({"digest-email": _digest_email(app)}, tmp_path)
    assert [(m.get("lastLine"), m["message"]) for m in results["digest-email"]] == []


def test_a_headline_with_a_link_links_once_to_the_article(app):
    """The headline is the words of the link to the article: its own link nested another
    link inside, which mail clients split so that part of it led elsewhere."""
    from digests.render import digest_page_context

    runtime = app.extensions["broadsheet"]
    headline = 'Council <a href="https://example.org/x">approves</a> <em>new</em> lanes'
    digest = _digest_of(
        [quick_read("linked", "2026-03-11T09:00:00Z", headline=headline)], runtime.settings
    )
    mail = render_digest(digest, runtime.env, runtime.settings, runtime.inliner).html
    page = runtime.env.get_template("digests/page.html").render(
        digest_page_context(digest, runtime.settings)
    )
    text = render_digest(digest, runtime.env, runtime.settings, runtime.inliner).text
    item = text.split("\n1. ", 1)[1]
    # In the text part too, the first address under the headline is the article's.
    assert item.startswith("Council approves new lanes\n")
    assert "https://example.org/x" not in text
    assert f"<{runtime.settings.article_url('linked')}>" in item
    for html in (mail, page):
        (h2,) = lxml_html.document_fromstring(html).xpath("//h2[a]")
        assert [a.get("href") for a in h2.iter("a")] == [runtime.settings.article_url("linked")]
        assert " ".join(h2.text_content().split()) == "Council approves new lanes"
        assert h2.xpath(".//a/em")


def test_the_digest_text_keeps_to_its_width_title_and_signature_included(app):
    """The title and the signature (publisher, postal address) were written unwrapped: a
    publisher name of thirty characters put the title past 72 columns on some dates."""
    runtime = app.extensions["broadsheet"]
    settings = runtime.settings.model_copy(
        update={
            "publisher_name": "The Riverside Evening Courier and Northside Brief",
            "publisher_address": "Suite 1200, The Old Cotton Exchange Building, 1 Riverside "
            "Drive, Duluth, Minnesota 55802, United States of America",
        }
    )
    digest = _digest_of([quick_read("one", "2026-09-29T09:00:00Z")], settings, date(2026, 9, 30))
    text = render_digest(digest, runtime.env, settings, runtime.inliner).text
    long = [line for line in text.splitlines() if len(line) > 72 and "<" not in line]
    assert long == []
    assert "Wednesday, September 30, 2026" in " ".join(text.split())


@pytest.mark.parametrize(
    ("language", "headline", "sentence"),
    [
        (
            "en",
            "Council approves the riverside transit budget after a long night",
            "Residents of the riverside wards asked for safer crossings",
        ),
        # Quoted-printable writes each byte of these characters as three: 94 KB of UTF-8
        # went out as 212 KB before the budget counted the part as sent.
        (
            "zh",
            "市议会通过河滨交通预算案经过漫长的夜晚讨论",
            "河滨各区居民要求更安全的过街设施和自行车道",
        ),
    ],
)
def test_a_full_digest_stays_under_gmail_s_clip_and_names_the_rest(
    app, language, headline, sentence
):
    """A hundred quick reads with long headlines made a 109 KB HTML part: Gmail shows 102 KB
    and hides the rest, the postal address and the unsubscribe link with it."""
    from digests.assemble import MAX_ITEMS

    runtime = app.extensions["broadsheet"]
    standfirst = " ".join([sentence] * 6)
    articles = [
        quick_read(
            f"q{n:03d}",
            f"2026-03-11T{8 + n // 60:02d}:{n % 60:02d}:00Z",
            headline=f"{headline} {n}",
            standfirst=standfirst,
            section="City",
            language=language,
        )
        for n in range(MAX_ITEMS)
    ]
    digest = _digest_of(articles, runtime.settings)
    body = render_digest(digest, runtime.env, runtime.settings, runtime.inliner)
    mail = body.personalise(unsubscribe_url="https://news.example.org/unsubscribe/" + "t" * 80)
    html = mail.html.encode("utf-8")
    assert len(html) < 96 * 1024
    assert len(quopri.encodestring(html)) < 102 * 1024  # as sent
    message = build_message(
        sender=("Broadsheet", "digest@news.example.org"),
        to=("Reader", "reader@example.org"),
        subject="Digest",
        text=mail.text,
        html=mail.html,
    )
    (html_part,) = [part for part in message.walk() if part.get_content_type() == "text/html"]
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable"
    assert len(html_part.get_payload()) < 102 * 1024  # the part's body as the mail sends it
    shown = len(lxml_html.document_fromstring(mail.html).xpath("//h2[a]"))
    assert 1 < shown < MAX_ITEMS
    more = MAX_ITEMS - shown
    for part in (mail.html, mail.text):
        assert f"{more} more quick reads on the website" in " ".join(part.split())
    assert mail.text.count("\n   <https://news.example.org/articles/q") == shown


def test_markup_that_weighs_more_than_its_words_cannot_carry_a_digest_past_its_budget(app):
    """Titles of abbreviations are sent, not shown: 39 of 480 characters in one standfirst
    made a one-item digest's HTML part 184 KB as sent, twice its
    budget, and put the postal address where Gmail has cut the message off. Such markup
    goes out as its words; markup of ordinary weight stays."""
    from digests.render import HTML_BUDGET, size_as_sent

    runtime = app.extensions["broadsheet"]
    heavy = " ".join(f'<abbr title="{"東" * 480}">W{n}</abbr>' for n in range(39))
    articles = [
        quick_read("heavy", "2026-03-11T09:00:00Z", standfirst=heavy),
        quick_read(
            "light",
            "2026-03-11T10:00:00Z",
            standfirst='He said <span lang="fr">je ne sais quoi</span> '
            '<abbr title="twice">2x</abbr>.',
        ),
    ]
    digest = _digest_of(articles, runtime.settings)
    body = render_digest(digest, runtime.env, runtime.settings, runtime.inliner)
    assert size_as_sent(body.html) <= HTML_BUDGET
    assert "東" not in body.html  # the titles, not the words, were the weight
    assert "W38" in body.html  # the heavy item's words are all there
    assert '<span lang="fr" style="font-size:inherit">je ne sais quoi</span>' in body.html
    assert '<abbr title="twice"' in body.html
    # Ordinary weight: six abbreviations with their expansions and a phrase in French, in
    # 74 characters of words (a first allowance dropped its lang).
    orgs = " ".join(
        f'<abbr title="{title}">{name}</abbr>,'
        for name, title in (
            ("IMF", "International Monetary Fund"),
            ("WHO", "World Health Organization"),
            ("OECD", "Organisation for Economic Co-operation and Development"),
            ("NATO", "North Atlantic Treaty Organization"),
            ("ECB", "European Central Bank"),
            ("UNESCO", "United Nations Educational, Scientific and Cultural Organization"),
        )
    )
    ordinary = f'The {orgs} meet in Paris: <span lang="fr">sommet de la paix</span>.'
    digest = _digest_of(
        [quick_read("orgs", "2026-03-11T09:00:00Z", standfirst=ordinary)], runtime.settings
    )
    body = render_digest(digest, runtime.env, runtime.settings, runtime.inliner)
    assert 'lang="fr"' in body.html
    assert 'title="North Atlantic Treaty Organization"' in body.html


def test_the_digest_signature_reads_left_to_right_under_a_publisher_named_in_arabic(app):
    """The text part's title line had a mark, its signature none: the publisher's Arabic
    name and address opened their lines, and a client showed them right to left, while the
    HTML part's footer is dir="ltr"."""
    runtime = app.extensions["broadsheet"]
    settings = runtime.settings.model_copy(
        update={"publisher_name": "صحيفة الأخبار", "publisher_address": "شارع 1، القاهرة"}
    )
    digest = _digest_of([quick_read("one", "2026-09-29T09:00:00Z")], settings, date(2026, 9, 30))
    mail = render_digest(digest, runtime.env, settings, runtime.inliner)
    signature = mail.text.split("\n-- \n")[1].splitlines()
    # Wholly Arabic lines: the mark, then the line in an isolate of its own direction.
    assert signature[:2] == ["\u200e\u2067صحيفة الأخبار\u2069", "\u200e\u2067شارع 1، القاهرة\u2069"]


def test_the_digest_text_teaser_says_what_the_html_teaser_marks(app):
    """The text part's teaser was the cut plain words: struck words cut open ("~~this is"
    with no end), an address's <br> run into one line, an abbreviation's title missing that
    the HTML part carries. Note references are left out, as in the HTML part."""
    runtime = app.extensions["broadsheet"]
    settings = runtime.settings
    struck = "word " * 40 + "<s>this is struck text that goes on and on past the cut for sure</s>."
    articles = [
        quick_read("struck", "2026-09-29T09:00:00Z", standfirst=struck),
        quick_read("lines", "2026-09-29T10:00:00Z", standfirst="Line one<br>line two.<br>"),
        quick_read(
            "abbr",
            "2026-09-29T11:00:00Z",
            standfirst='The <abbr title="World Health Organization">WHO</abbr> said so.',
        ),
        quick_read("struck-break", "2026-09-29T10:30:00Z", standfirst="One<br><s>two.<br></s>"),
        quick_read(
            "noted",
            "2026-09-29T12:00:00Z",
            standfirst=None,  # the first paragraph, which may cite a note
            body=[{"type": "paragraph", "text": "Costs rose [^source] again."}],
            notes=[{"id": "source", "text": "A source."}],
        ),
    ]
    digest = _digest_of(articles, settings, date(2026, 9, 30))
    text = render_digest(digest, runtime.env, settings, runtime.inliner).text
    words = " ".join(text.split())
    assert "~~this is struck text that goes on and~~…" in words
    # A closing <br> adds no line, on the page or here: a blank line ends an item.
    assert "   Line one\n   line two.\n   <https://" in text
    assert "   One\n   ~~two.~~\n   <https://" in text  # closed, no line of "~~" after
    assert "The WHO (World Health Organization) said so." in words
    assert "Costs rose again." in words
