"""The documentation: the README stays a front page, and the site builds from `docs/` with
warnings as errors (MkDocs' strict mode, with its link and anchor validation on), so a broken
link between pages, a missing anchor or a missing included file fails here. The shell blocks of
both are run by test_readme."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = Path(sys.executable).with_name("mkdocs")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 200
    assert lines[2:6] and "./dev demo" in "\n".join(lines[:12])  # the two commands, first


def test_every_page_of_the_docs_is_built_and_reachable_from_the_nav(site):
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")} - {"README"}
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in pages:
        assert f"{page}.md" in nav, page
        built = site / "index.html" if page == "index" else site / page / "index.html"
        assert built.is_file(), page


def test_every_diagram_a_page_promises_is_in_its_built_page(site):
    promised = 0
    for page in (ROOT / "docs").glob("*.md"):
        diagrams = len(re.findall(r"^```mermaid$", page.read_text(), re.M))
        if not diagrams:
            continue
        promised += diagrams
        html = (site / page.stem / "index.html").read_text()
        assert html.count('class="mermaid"') == diagrams, page.name
    assert promised >= 4  # the invocation's life: returned, ack(), a stream, the deadline


def test_the_readmes_links_into_the_docs_lead_to_pages():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", readme)
    assert len(targets) >= 10
    for target in targets:
        assert (ROOT / target).is_file(), target


def test_the_performance_page_is_the_benchmarks_readme_and_its_charts(site, tmp_path):
    """The charts are in the page, and are what bench/charts.py makes of the committed
    results: they cannot drift from the figures they show."""
    html = (site / "performance" / "index.html").read_text()
    assert "What is measured, and how" in html  # included from bench/README.md
    charts = sorted(re.findall(r'src="\.\./charts/([\w-]+\.svg)"', html))
    assert len(charts) == 5, charts
    for name in charts:
        assert (site / "charts" / name).is_file(), name
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "charts.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in charts:
        made = (tmp_path / name).read_text()
        assert made == (ROOT / "docs" / "charts" / name).read_text(), name
        assert "lambda-ack" in made and "awslambdaric" in made


def test_the_api_reference_documents_the_names_handlers_import(site):
    html = (site / "api" / "index.html").read_text()
    for name in (
        "lambda_ack.defer",
        "lambda_ack.ack",
        "lambda_ack.Stream",
        "lambda_ack.on_invocation_end",
        "lambda_ack.on_shutdown",
        "lambda_ack.deferrable",
        "lambda_ack.slack.SlackApp",
        "lambda_ack.slack.bolt.SlackRequestHandler",
        "lambda_ack.web.asgi",
        "lambda_ack.web.wsgi",
    ):
        assert f'id="{name}"' in html, name
