"""The OpenAPI document: valid 3.1, one entry per route and no more, and its /docs page."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from lxml import html as lxml_html
from openapi_spec_validator import validate
from pydantic import Field, create_model

from service import edition_request, openapi
from service import subscriptions as core_subscriptions
from service.article import Article
from service.formats import FORMATS, PAPERS
from service.openapi import describe, openapi_document, reference
from service.request_models import in_words
from service.views import editions, list_query, subscriptions

from .conftest import runtime_of
from .corpus import minimal
from .test_html_renderer_quality import AXE_TAGS

METHODS = {"GET", "PUT", "POST", "DELETE"}


def _document(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _app_routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, in OpenAPI's spelling; `any(...)` expanded."""
    routes = set()
    for rule in app.url_map.iter_rules():
        paths = [rule.rule]
        if match := re.search(r"<any\(([^)]*)\):(\w+)>", rule.rule):
            paths = [rule.rule.replace(match[0], v.strip()) for v in match[1].split(",")]
        for path in paths:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
            routes |= {(method, path) for method in rule.methods & METHODS}
    return routes


def _documented(document: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in METHODS
    }


def test_the_document_is_valid_openapi_3_1(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_documented_and_nothing_else(app, client):
    routes = _app_routes(app)
    documented = _documented(_document(client))
    assert routes - documented == set(), "routes the document lacks"
    assert documented - routes == set(), "documented routes the app lacks"
    assert ("POST", "/v1/render/pdf") in routes
    assert ("GET", "/articles/{article_id}.pdf") in routes


def test_the_route_check_can_fail(app, client):
    document = _document(client)
    del document["paths"]["/feed.atom"]
    assert ("GET", "/feed.atom") in _app_routes(app) - _documented(document)


def test_path_parameters_match_their_templates(client):
    for path, item in _document(client)["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            names = {
                p["name"]
                for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                if p["in"] == "path"
            }
            assert names == set(re.findall(r"\{(\w+)\}", path)), (method, path)


def test_the_article_schema_is_the_one_that_validates(client):
    document = _document(client)
    article = Article.model_json_schema(
        mode="validation", ref_template="#/components/schemas/{model}"
    )
    schemas = document["components"]["schemas"]
    assert schemas["Article"] == {k: v for k, v in article.items() if k != "$defs"}
    for name, definition in article["$defs"].items():
        assert schemas[name] == definition
    body = document["paths"]["/v1/render/html"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Article"}


def test_problems_share_one_schema(client):
    document = _document(client)
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["items"]["required"] == ["pointer", "message"]
    statuses = set()
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and "application/problem+json" in answer.get("content", {}):
                    media = answer["content"]["application/problem+json"]
                    assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
                    statuses.add(int(status))
    assert statuses == {400, 401, 404, 408, 409, 412, 413, 415, 416, 422, 429, 503}


def test_every_rate_limited_route_documents_429(app, client):
    from service.rate_limits import ENDPOINTS, EXEMPT, EXEMPT_PATHS

    unlimited = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if (ENDPOINTS.get(rule.endpoint) == EXEMPT or rule.rule in EXEMPT_PATHS)
        and rule.rule != "/metrics"  # exempt when open only (tests/test_rate_limits.py)
    }
    assert unlimited == set(openapi.UNLIMITED)
    for path, item in _document(client)["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                limited = "429" in operation["responses"]
                assert limited == (path not in unlimited), (method, path)
                if limited:
                    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_token_routes_name_the_bearer_scheme(client):
    document = _document(client)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    guarded = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and {"bearer": []} in operation.get("security", [])
    }
    assert guarded == {
        ("PUT", "/v1/articles/{article_id}"),
        ("DELETE", "/v1/articles/{article_id}"),
        ("GET", "/v1/subscribers"),
        ("POST", "/v1/digests/{day}/send"),
    }
    for method, path in guarded:
        assert "401" in document["paths"][path][method.lower()]["responses"]


def test_metrics_name_their_own_token_in_the_document_and_on_the_page(app, client):
    """/metrics takes BROADSHEET_METRICS_TOKEN, never the API token; the document said the
    API token, so a client built from it was refused."""
    document = _document(client)
    scheme = document["components"]["securitySchemes"]["metrics"]
    assert (scheme["scheme"], scheme["description"].split(",")[0]) == (
        "bearer",
        "BROADSHEET_METRICS_TOKEN",
    )
    metrics = document["paths"]["/metrics"]["get"]
    assert metrics["security"] == [{}, {"metrics": []}]
    assert "metrics token" in metrics["responses"]["401"]["description"]
    page = client.get("/docs").get_data(as_text=True)
    section = page[page.index('id="get--metrics"') :][:600]
    assert "Takes the metrics token when one is configured for it." in section
    subscribers = page[page.index('id="get--v1-subscribers"') :][:600]
    assert "Needs the API token." in subscribers


def test_media_types_follow_the_formats():
    document = openapi_document(
        {name: f.media_type for name, f in FORMATS.items()}, PAPERS, title="T", base_url="x"
    )
    for name, fmt in FORMATS.items():
        ok = document["paths"][f"/v1/render/{name}"]["post"]["responses"]["200"]
        assert list(ok["content"]) == [fmt.media_type]
    pdf = document["paths"]["/v1/render/pdf"]["post"]
    assert pdf["parameters"][0]["schema"]["enum"] == list(PAPERS)
    assert "ETag" in pdf["responses"]["200"]["headers"]
    assert "Retry-After" in pdf["responses"]["503"]["headers"]


def test_the_limits_are_the_views_own():
    assert openapi.KINDS == list_query.KINDS
    assert openapi.LIST_LIMIT == (1, list_query.MAX_LIMIT, list_query.DEFAULT_LIMIT)
    assert openapi.SUBSCRIBER_LIMIT == (1, subscriptions.MAX_LIMIT, subscriptions.DEFAULT_LIMIT)
    assert openapi.AUDIENCES == editions.AUDIENCES


# The request models: what the document publishes is what the views enforce --------------

READERS = {
    "EditionRequest": (edition_request, "/v1/editions", "application/json"),
    "SignUpRequest": (core_subscriptions, "/subscribe", "application/json"),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_request_schema_is_the_model_its_view_reads_with(client, name):
    module, path, media_type = READERS[name]
    model = getattr(module, name)
    schemas = _document(client)["components"]["schemas"]
    published = model.model_json_schema(
        mode="validation", ref_template="#/components/schemas/{model}"
    )
    if name == "EditionRequest":  # and the one limit that is a setting, not the model's
        limit = runtime_of(client.application).settings.edition_max_articles
        published["properties"]["article_ids"]["maxItems"] = limit
    assert schemas[name] == published
    body = _document(client)["paths"][path]["post"]["requestBody"]
    assert body["content"][media_type]["schema"] == {"$ref": f"#/components/schemas/{name}"}


AT_MOST_FIVE = "must be at most 5 characters, as the stricter model says"
FIVE = Annotated[str, Field(max_length=5), in_words(AT_MOST_FIVE)]
STRICTER = {
    # request, the field made stricter, a body the real model takes and the stricter refuses
    "edition": ("EditionRequest", "title", {"title": "Sixsix", "article_ids": ["a"]}),
    "sign-up": ("SignUpRequest", "name", {"email": "a@example.org", "name": "Sixsix"}),
    "sign-up form": ("SignUpRequest", "name", {"email": "a@example.org", "name": "Sixsix"}),
}


@pytest.mark.parametrize("request_kind", sorted(STRICTER))
def test_a_stricter_model_is_both_published_and_enforced(app, client, monkeypatch, request_kind):
    """Declare a field anew in a copy of the model: the document and the view both follow."""
    name, field, body = STRICTER[request_kind]
    module, path, _ = READERS[name]
    model = getattr(module, name)
    assert getattr(openapi, name) is model
    model.model_validate(body)  # the real model takes the body
    stricter = create_model(name, __base__=model, **{field: (FIVE | None, None)})
    monkeypatch.setattr(module, name, stricter)
    monkeypatch.setattr(openapi, name, stricter)

    schema = _document(client)["components"]["schemas"][name]["properties"][field]
    assert schema["anyOf"][0] == {"type": "string", "maxLength": 5}
    if request_kind == "sign-up form":
        form = lxml_html.fromstring(client.get(path).get_data(as_text=True))
        (csrf,) = form.xpath("//input[@name='csrf_token']/@value")
        response = client.post(path, data={**body, "csrf_token": csrf})
        assert response.status_code == 422
        page = lxml_html.fromstring(response.get_data(as_text=True))
        assert AT_MOST_FIVE in page.xpath(f"string(//*[@id='{field}-error'])")
    else:
        response = client.post(path, json=body)
        assert response.status_code == 422
        assert response.get_json()["errors"] == [{"pointer": f"/{field}", "message": AT_MOST_FIVE}]


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"$ref": "#/components/schemas/Article"}, "Article"),
        # The default of a choice was left out (the paper's a4, an edition's readers).
        ({"enum": ["a4", "letter"], "default": "a4"}, "one of a4, letter (default a4)"),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 200},
            "list of string, 1 to 200 items",
        ),
        # A body defined in place was "(object)", none of its fields shown.
        (
            {
                "type": "object",
                "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
                "required": ["email"],
            },
            "object of email: string; name (optional): string",
        ),
        (
            {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            "integer, 1 to 100 (default 20)",
        ),
        ({"type": "string", "pattern": "^x$"}, "string matching ^x$"),
    ],
)
def test_describe_says_a_schema_in_words(schema, words):
    assert describe(schema) == words


# The page -----------------------------------------------------------------------------------


def _docs(client) -> str:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    return response.get_data(as_text=True)


def test_the_page_lists_every_operation_with_its_answers(client):
    document = _document(client)
    page = lxml_html.fromstring(_docs(client))
    operation_headings = page.xpath("//section[@class='operation']/h3")
    headings = [" ".join(h.text_content().split()) for h in operation_headings]
    assert sorted(headings) == sorted(f"{m} {p}" for m, p in _documented(document))
    operations = [op for group in reference(document) for op in group["operations"]]
    for op in operations:
        section = page.xpath(f"//section[@aria-labelledby='{op['id']}']")[0]
        statuses = section.xpath(".//caption[starts-with(., 'Answers')]/../tbody/tr/th/text()")
        assert statuses == [r["status"] for r in op["responses"]]
    assert page.xpath("//a[@href='#post--v1-render-pdf']")
    assert not page.xpath("//script")
    assert not [u for u in page.xpath("//@href | //@src") if "//" in u]


def test_the_page_says_which_routes_need_the_token(client):
    page = lxml_html.fromstring(_docs(client))
    needs = page.xpath("//p[@class='token' and starts-with(., 'Needs')]/../h3")
    assert sorted(" ".join(h.text_content().split()) for h in needs) == [
        "DELETE /v1/articles/{article_id}",
        "GET /v1/subscribers",
        "POST /v1/digests/{day}/send",
        "PUT /v1/articles/{article_id}",
    ]


def test_the_page_shows_every_body_field_by_field(client):
    """The page said "Body: application/json (EditionRequest)" and "(SignUpRequest)" and
    defined neither: no field of an edition or a sign-up was on it."""
    document = _document(client)
    page = lxml_html.fromstring(_docs(client))
    schemas = document["components"]["schemas"]
    for name in ("EditionRequest", "SignUpRequest", "ArticleSummary", "Subscriber", "Problem"):
        (section,) = page.xpath(f"//section[@aria-labelledby='schema-{name}']")
        fields = section.xpath(".//tbody/tr/th/code/text()")
        assert fields == list(schemas[name]["properties"]), name
    edition = page.xpath("//section[@aria-labelledby='post--v1-editions']")[0]
    assert edition.xpath(".//p[starts-with(., 'Body:')]/a/@href") == ["#schema-EditionRequest"]
    assert page.xpath("//a[@href='#schema-EditionRequest']")
    edition_body = "//section[@aria-labelledby='schema-EditionRequest']"
    (title,) = page.xpath(f"{edition_body}//tr[th/code='title']")
    assert "1 to 300 characters" in title.text_content()
    render = page.xpath("//section[@aria-labelledby='post--v1-render-html']")[0]
    assert render.xpath(".//p[starts-with(., 'Body:')]/a/@href") == ["/v1/schema/article.json"]
    assert not page.xpath("//section[@aria-labelledby='schema-Paragraph']")  # in the schema
    # Bodies defined in place, sent and answered, were "(object)" with no field shown.
    sign_up = page.xpath("//section[@aria-labelledby='post--subscribe']")[0].text_content()
    assert "csrf_token (optional): string" in sign_up
    send = "//section[@aria-labelledby='post--v1-digests-day-send']"
    assert "audience: integer" in page.xpath(send)[0].text_content()
    problem = page.xpath("//section[@aria-labelledby='post--v1-editions']//td/a/@href")
    assert "#schema-Problem" in problem


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_passes_axe(client, axe, scheme):
    violations = axe(_docs(client), AXE_TAGS, color_scheme=scheme)
    assert [(v["id"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations] == []


def test_the_page_passes_the_nu_checker(client, nu_checker, tmp_path):
    results = nu_checker({"docs": _docs(client)}, tmp_path)
    assert [(m.get("lastLine"), m["message"]) for m in results["docs"]] == []


def test_every_pdf_route_declares_its_warnings_header(client):
    """GET /articles/{id}.pdf says what it left out too, and so do the editions; the
    document did not list it for them, nor the file name every PDF is sent with."""
    paths = _document(client)["paths"]
    stored = paths["/articles/{article_id}.pdf"]["get"]["responses"]
    rendered = paths["/v1/render/pdf"]["post"]["responses"]
    day = paths["/editions/{day}.pdf"]["get"]["responses"]
    named = paths["/v1/editions"]["post"]["responses"]
    for answer in (stored["200"], stored["206"], rendered["200"], day["200"], named["200"]):
        assert {"Broadsheet-Warnings", "Content-Disposition", "ETag"} <= set(answer["headers"])


def test_every_answer_declares_the_headers_sent_with_every_answer(client):
    """X-Request-Id on every answer, Cache-Control on every problem and tagged answer, Vary
    where a page or a problem is chosen by Accept: sent, and declared nowhere."""
    for path, item in _document(client)["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, answer in operation["responses"].items():
                headers = set(answer.get("headers", {}))
                assert "X-Request-Id" in headers, (path, method, status)
                content = answer.get("content", {})
                if "application/problem+json" in content or "ETag" in headers:
                    assert "Cache-Control" in headers, (path, method, status)
                if status >= "400" and "text/html" in content and len(content) > 1:
                    assert "Vary" in headers, (path, method, status)


def _header_parameters(operation: dict) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


def test_every_conditional_get_documents_the_headers_it_reads(client):
    """A route that answers 304 reads the four preconditions; a generator of requests from
    the document (Schemathesis) can only reach a 304, 412 or 206 through headers it names."""
    paths = _document(client)["paths"]
    conditional = [
        (path, item["get"])
        for path, item in paths.items()
        if "304" in item.get("get", {}).get("responses", {})
    ]
    assert len(conditional) >= 8
    for path, operation in conditional:
        names = _header_parameters(operation)
        assert {"If-None-Match", "If-Match"} <= names, path
        # A dated answer is also judged by date (an edition is tagged before it is printed).
        dated = "Last-Modified" in operation["responses"]["200"].get("headers", {})
        by_date = {"If-Modified-Since", "If-Unmodified-Since"} <= names
        assert by_date == dated, path
        ranged = "206" in operation["responses"]
        assert ({"Range", "If-Range"} <= names) == ranged, path


def test_dated_answers_document_last_modified(client):
    paths = _document(client)["paths"]
    for path in (
        "/v1/articles/{article_id}",
        "/articles/{article_id}",
        "/articles/{article_id}.pdf",
        "/articles",
        "/feed.atom",
        "/feed.json",
    ):
        headers = paths[path]["get"]["responses"]["200"]["headers"]
        assert "Last-Modified" in headers, path


def test_tagged_posts_document_if_match(client):
    paths = _document(client)["paths"]
    for path in ("/v1/render/pdf", "/v1/editions"):
        assert {"If-Match", "If-None-Match"} <= _header_parameters(paths[path]["post"]), path


def test_a_digest_that_cannot_be_sent_says_no_retry_after(client):
    """Only an operator's change of settings mends digest-unsendable: waiting does not. The
    same status for a database that did not answer comes with Retry-After, so the header is
    declared, and never required."""
    document = _document(client)
    answer = document["paths"]["/v1/digests/{day}/send"]["post"]["responses"]["503"]
    assert "BASE_URL" in answer["description"]
    assert "digest-unsendable: BASE_URL is not https; no Retry-After" in answer["description"]
    assert answer["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert "required" not in document["components"]["headers"]["Retry-After"]


def test_the_edition_request_publishes_each_once_and_the_setting_s_limit(make_app):
    """A client built from the document sent repeated ids, or more than the limit, and got
    422s the document allowed."""
    app = make_app(EDITION_MAX_ARTICLES=7)
    ids = _document(app.test_client())["components"]["schemas"]["EditionRequest"]
    ids = ids["properties"]["article_ids"]
    assert ids["uniqueItems"] is True
    assert (ids["minItems"], ids["maxItems"]) == (1, 7)


def test_a_stored_article_of_an_earlier_release_is_what_the_document_says(stored_app, api):
    """A stored article is served as it was stored, under the rules it was stored under; the
    document promised today's Article schema, which an earlier release's article may break
    (a grandfathered language tag such as i-klingon)."""
    import jsonschema
    from sqlalchemy import update

    from service.storage.models import StoredArticle

    assert api.put(minimal(id="older")).status_code == 201
    older = minimal(id="older", language="i-klingon")  # taken by an earlier release
    with stored_app.extensions["broadsheet"].database.writing() as session:
        session.execute(update(StoredArticle).values(document=older))
    served = api.client.get("/v1/articles/older")
    assert served.status_code == 200
    assert served.get_json() == older
    document = api.client.get("/openapi.json").get_json()
    answer = document["paths"]["/v1/articles/{article_id}"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    root = {"components": document["components"], **schema}
    assert not list(jsonschema.Draft202012Validator(root).iter_errors(served.get_json()))
    today = {"components": document["components"], "$ref": "#/components/schemas/Article"}
    assert list(jsonschema.Draft202012Validator(today).iter_errors(older))  # it breaks today's


def test_a_put_sends_the_cache_control_its_tagged_answers_document(api, client):
    document = client.get("/openapi.json").get_json()
    put = document["paths"]["/v1/articles/{article_id}"]["put"]["responses"]
    for status, body in ((201, minimal()), (200, minimal(headline="Changed"))):
        assert "Cache-Control" in put[str(status)]["headers"]
        response = api.put(body)
        assert response.status_code == status
        assert response.headers["Cache-Control"] == "no-cache"


def test_a_problem_is_described_as_its_method_meets_it(client):
    """A GET reads no body and answers a matching If-None-Match with 304, yet its 400 and
    412 were described with a body's and every precondition's words."""
    paths = _document(client)["paths"]
    for path, item in paths.items():
        for method in ("get", "post"):
            answers = item.get(method, {}).get("responses", {})
            if method == "get" and "400" in answers:
                assert "body" not in answers["400"]["description"], path
            if "412" in answers:
                assert "If-None-Match does not hold" not in answers["412"]["description"], path
    assert paths["/articles"]["get"]["responses"]["400"]["description"].startswith("The cursor")
    put = paths["/v1/articles/{article_id}"]["put"]["responses"]
    assert "If-None-Match" in put["412"]["description"]
    assert "Content-Range" in put["400"]["description"]
    assert "Accept-Encoding" in put["415"]["headers"]  # sent with a compressed body's 415


def test_a_sign_up_name_s_published_rules_are_the_server_s(client):
    """The name published only its length, while the server refused control characters:
    now every character of the Basic Multilingual Plane passes both or neither (bidi
    controls aside: their balance is more than a pattern can say)."""
    from pydantic import TypeAdapter, ValidationError

    from service.characters import BIDI_CONTROLS

    document = _document(client)
    published = document["components"]["schemas"]["SignUpRequest"]["properties"]
    (text,) = [choice for choice in published["name"]["anyOf"] if choice["type"] == "string"]
    pattern = re.compile(text["pattern"])
    # The browser form's name, urlencoded or multipart, follows the same rules.
    content = document["paths"]["/subscribe"]["post"]["requestBody"]["content"]
    for media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form_name = content[media]["schema"]["properties"]["name"]
        assert (form_name["pattern"], form_name["maxLength"]) == (text["pattern"], 200), media
    server = TypeAdapter(core_subscriptions.Name)
    disagree = []
    for code in [*range(0xD800), *range(0xE000, 0x10000)]:
        name = f"Ann{chr(code)}Lee"
        if BIDI_CONTROLS.search(name):
            continue
        try:
            server.validate_python(name)
            taken = True
        except ValidationError:
            taken = False
        if taken != bool(pattern.match(name)):
            disagree.append(hex(code))
    assert disagree == []
