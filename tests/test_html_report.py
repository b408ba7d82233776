"""`orgscope-lint report --format html`: one self-contained file rendered from
the same report model as the Markdown report, checked as markup and in a real
headless Chromium (installed by .ci/run from Debian's packages)."""
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgscope_lint import cli
from orgscope_lint.report.document import build
from orgscope_lint.report.html import render
from orgscope_lint.report.markdown import render as render_markdown
from orgscope_lint.testing import config_from, run_sources

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


class _Page(HTMLParser):
    """Ids, links, the table of contents, headings and the visible text."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.contents, self.headings, self.text = set(), [], [], [], []
        self.external = []
        self._in_nav = self._in_h2 = self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and not value.startswith("#"):
                self.external.append(value)
        if tag in ("script", "link", "img", "iframe"):
            self.external.append(tag)
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
            if self._in_nav:
                self.contents.append(attrs["href"][1:])
        self._in_nav |= tag == "nav"
        if tag == "h2":
            self._in_h2 = True
            self.headings.append("")
        self._in_style |= tag == "style"

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav = False
        if tag == "h2":
            self._in_h2 = False
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_h2:
            self.headings[-1] += data
        if not self._in_style:
            self.text.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _fixture_html() -> str:
    outcome = CliRunner().invoke(cli.main, ["report", "--format", "html", str(FIXTURE)])
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def test_self_contained_with_a_working_table_of_contents_and_details():
    html = _fixture_html()
    page = _page(html)
    assert page.external == []  # no network, no CDN: styles inline, no script
    assert "<style>" in html
    assert page.contents[:2] == ["summary", "fixes"] and page.contents[-1] == "closing"
    assert set(page.links) <= page.ids  # every link, in the contents or a table, lands
    detail_links = [link for link in page.links if link.startswith("d-")]
    assert detail_links and len(set(detail_links)) == html.count("<details id=")


def test_the_same_model_as_the_markdown_report():
    result = run_sources({"app/services/calls.py": (
        "class CallService:\n    def close(self, call_id):\n"
        "        self.db.update('calls', {'id': call_id}, {'note': '<script>x</script>'})\n")},
        config_from({}))
    report = build(result)
    html, markdown = render(result), render_markdown(result)
    for group in report.fixes:
        assert group.rule in html and group.rule in markdown
    for section in report.sections:
        assert section.title.split(" – ")[-1].replace("`", "") in html.replace("<code>", "") \
            .replace("</code>", "")
    assert "<script>" not in html


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: this test renders the HTML report in a real "
                    "browser; install it with `apt-get install -y chromium` (.ci/run does)")
    return found


def _png_size(path: Path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_fixture_report_renders_in_headless_chromium(tmp_path):
    chromium = _chromium()
    page_file = tmp_path / "report.html"
    page_file.write_text(_fixture_html(), encoding="utf-8")
    shot = tmp_path / "report.png"
    common = CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}",
                               "--window-size=1200,1600"]
    done = subprocess.run([chromium, *common, f"--screenshot={shot}", page_file.as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert shot.is_file(), done.stderr[-2000:]
    width, height = _png_size(shot)
    assert (width, height) == (1200, 1600)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    dom = subprocess.run([chromium, *common, "--dump-dom", page_file.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = _page(dom.stdout)
    text = " ".join(" ".join(page.text).split())
    assert "Organization-scoping verification: sample_backend" in text
    assert "Executive summary" in text and "Fixes required" in text
    assert "ORG102 unscoped-write – 12 writes" in text
    headings = [" ".join(h.split()) for h in page.headings]
    assert headings[:2] == ["Executive summary", "Fixes required"]
    assert any(h.startswith("Section") and "Routes" in h for h in headings)
    assert len(page.contents) == len(headings)  # one contents entry per section
    assert set(page.contents) <= page.ids
