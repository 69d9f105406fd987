"""docs/deploy.md: every command in its shell blocks is run by a test or by .ci/run.

RUN_BY names, for each command, where it runs. A command added to the document without a
line here fails `test_every_command_in_the_document_is_run`; a line whose command left the
document fails it too. The tests named run the document's own text (through
`deploy_commands.doc_command`), so a command edited in the document is the one they run.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tomllib

from .conftest import require_tool
from .deploy_commands import ROOT, doc_command, doc_commands, runnable

UNIT_FILES = " ".join(
    f"deploy/systemd/{name}.service"
    for name in ("broadsheet-web", "broadsheet-scheduler", "broadsheet-digest-send")
)
RUN_BY: dict[str, list[str]] = {
    "make serve": [
        "tests/test_commands.py::test_make_serve_declares_development",
        "tests/test_commands.py::test_broadsheet_serve_answers",
    ],
    "make test": [".ci/run"],
    "make runtime-deps": [
        "tests/test_deploy_doc.py::test_make_runtime_deps_leaves_the_service_s_packages_installed"
    ],
    "make install": [".ci/run", "tests/test_deploy_doc.py::test_make_install_installs_extras"],
    "make install EXTRAS=postgres,redis": [
        "tests/test_deploy_doc.py::test_make_install_installs_extras"
    ],
    ".venv/bin/broadsheet db upgrade": [
        "tests/test_deploy_doc.py::test_db_upgrade_as_documented",
        "tests/test_gunicorn_conf.py::migrate",
    ],
    ".venv/bin/broadsheet db backup broadsheet-backup.sqlite3": [
        "tests/test_deploy_doc.py::test_db_backup_as_documented"
    ],
    ".venv/bin/gunicorn --config gunicorn.conf.py wsgi:app": [
        "tests/test_gunicorn_conf.py::start_gunicorn",
        "tests/test_gunicorn_conf.py::test_gunicorn_serves_then_stops_gracefully_on_sigterm",
        "tests/test_digest_nodes.py::test_two_nodes_and_two_senders_send_each_message_once",
    ],
    f"systemd-analyze verify {UNIT_FILES}": [
        "tests/test_deploy_units.py::test_systemd_analyze_verify_passes"
    ],
    ".venv/bin/broadsheet scheduler": [
        "tests/test_deploy_units.py::test_the_units_run_the_documented_commands",
        "tests/test_deploy_units.py::test_the_scheduler_unit_runs_and_stops_on_sigterm",
    ],
    ".venv/bin/broadsheet digest send --date 2026-03-12": [
        "tests/test_digest_nodes.py::test_two_nodes_and_two_senders_send_each_message_once"
    ],
}


def test_every_command_in_the_document_is_run():
    commands = doc_commands()
    assert len(commands) == len(set(commands)), "a command is written twice"
    missing = [c for c in commands if c not in RUN_BY]
    stale = [c for c in RUN_BY if c not in commands]
    assert not missing, f"commands of docs/deploy.md that no test runs: {missing}"
    assert not stale, f"RUN_BY names commands docs/deploy.md no longer has: {stale}"


def _functions(path) -> dict[str, str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {
        node.name: ast.get_source_segment(path.read_text("utf-8"), node) or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
    }


def test_the_named_tests_exist_and_run_the_documents_command():
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    for command, places in RUN_BY.items():
        for place in places:
            if place == ".ci/run":
                assert re.search(r"^make test$", ci, re.M), ".ci/run no longer runs make test"
                continue
            file, _, name = place.partition("::")
            functions = _functions(ROOT / file)
            assert name in functions, f"{place} does not exist"
            # A test of this lane reads the command from the document, not a copy of it,
            # itself or through a helper of its module.
            if file.startswith(("tests/test_deploy", "tests/test_gunicorn", "tests/test_digest_n")):
                helpers = [f for f, body in functions.items() if "doc_command(" in body]
                source = functions[name]
                assert any(f"{helper}(" in source for helper in ["doc_command", *helpers]), (
                    f"{place} does not run the document's {command!r}"
                )


def test_make_install_installs_extras():
    """`make install [EXTRAS=…]` is pip install -e with those extras, which pyproject has."""
    require_tool(shutil.which("make") is not None, "make")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    env = {k: v for k, v in os.environ.items() if k not in ("EXTRAS", "MAKEFLAGS")}
    for command, wanted in (
        (doc_command("make install EXTRAS="), None),
        (doc_command("make install"), "test,bench"),
    ):
        variables, argv = runnable(command)
        # -n: print the recipe; -B: as on a fresh machine, whatever is installed here.
        done = subprocess.run(
            [argv[0], "-n", "-B", *argv[1:]],
            cwd=ROOT,
            env={**env, **variables},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        named = wanted or command.partition("EXTRAS=")[2]
        assert f"pip install -q -e '.[{named}]'" in done.stdout
        for extra in named.split(","):
            assert extra in extras, f"pyproject.toml has no extra {extra!r}"


def test_make_runtime_deps_leaves_the_service_s_packages_installed():
    """The document's `make runtime-deps`, run for real: it installs what is missing (as
    root) and exits 0; afterwards every package the service needs is installed, the CJK
    fonts among them, and the test-only ones were not asked for."""
    require_tool(shutil.which("make") is not None, "make")
    require_tool(shutil.which("dpkg-query") is not None, "dpkg-query (Debian)")
    _, argv = runnable(doc_command("make runtime-deps"))
    env = {k: v for k, v in os.environ.items() if k != "MAKEFLAGS"}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    script = (ROOT / "scripts" / "system-deps").read_text("utf-8")
    runtime = re.search(r"runtime=\(([^)]*)\)", script)
    assert runtime is not None
    packages = runtime[1].split()
    assert "fonts-noto-cjk" in packages
    assert "fonts-noto-color-emoji" in packages
    assert "chromium" not in packages
    for package in packages:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if os.geteuid() != 0:  # the script could only say what to install
            require_tool("install ok installed" in status.stdout, f"the Debian package {package}")
        assert "install ok installed" in status.stdout, package
    usage = subprocess.run(
        ["bash", "scripts/system-deps", "--tests"], cwd=ROOT, capture_output=True, text=True
    )
    assert usage.returncode == 2
    assert "usage" in usage.stderr


def _production_env(database_url: str) -> dict[str, str]:
    """This process's environment without Broadsheet's or Flask's variables, and the
    settings production needs, on `database_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROADSHEET_", "FLASK_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "BROADSHEET_ENV": "production",
            "BROADSHEET_SECRET_KEY": "deploy-doc-secret",
            "BROADSHEET_BASE_URL": "https://news.example.org",
            "BROADSHEET_DATABASE_URL": database_url,
        }
    )
    return env


def test_db_upgrade_as_documented(database_url):
    variables, argv = runnable(doc_command(".venv/bin/broadsheet db upgrade"))
    env = {**_production_env(database_url), **variables}
    for _ in range(2):  # a second run finds nothing to do
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("The database schema is up to date"), done.stdout


def test_db_backup_as_documented(tmp_path):
    """The document's backup command, run from a folder of its own on a migrated database."""
    env = _production_env(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    upgrade = runnable(doc_command(".venv/bin/broadsheet db upgrade"))[1]
    done = subprocess.run(upgrade, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    variables, argv = runnable(doc_command(".venv/bin/broadsheet db backup"))
    work = tmp_path / "backups"
    work.mkdir()
    done = subprocess.run(
        argv, cwd=work, env={**env, **variables}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (copy,) = work.iterdir()
    assert copy.name == argv[-1]
    env["BROADSHEET_DATABASE_URL"] = f"sqlite:///{copy}"
    current = runnable(".venv/bin/broadsheet db current")[1]
    done = subprocess.run(current, cwd=work, env=env, capture_output=True, text=True)
    assert (done.returncode, "up to date" in done.stdout) == (0, True), done.stderr
