"""The one escaping module (tinyseq/escape.py): each function against the names an attacker
would choose, read back by the parser of the context it writes into."""
import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from tinyseq.escape import dot_html, dot_string, html_text, json_for_script, plot_text

HOSTILE = ['a"b', "a\\b", 'x"; URL="javascript:alert(1)', "}{ node [shape=box]", "<b>&amp;</b>",
           "line\nbreak", "</script><script>alert(1)</script>", "<!--<script>", "a\u2028b\u2029c",
           "\\\"", "end\\"]


def test_dot_string_quotes_and_backslashes():
    assert dot_string('a"b') == '"a\\"b"'
    assert dot_string("a\\b") == '"a\\\\b"'
    assert dot_string("two\nlines") == '"two\\nlines"'
    assert dot_string(3) == '"3"'


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_stays_one_label_in_dot(name):
    """Graphviz reads back exactly one node, with no attribute but its label and tooltip."""
    source = (f"digraph {{ n [label={dot_string(name)}, tooltip={dot_string(name)}]; "
              f"m [label=<{dot_html(name)}>]; }}")
    result = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    graph = json.loads(result.stdout)
    assert [node["name"] for node in graph["objects"]] == ["n", "m"]
    assert "URL" not in graph["objects"][0] and "href" not in graph["objects"][0]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("name", HOSTILE)
def test_html_text_is_text_in_content_and_attributes(name):
    parser = _Collect()
    parser.feed(f'<div title="{html_text(name)}">{html_text(name)}</div>')
    assert parser.tags == ["div"]
    assert parser.attrs == [("title", name)]
    assert "".join(parser.text) == name


@pytest.mark.parametrize("name", HOSTILE)
def test_json_for_script_cannot_end_the_script_and_reads_back(name):
    value = {"name": name, "ops": [name, 1, 2.5]}
    text = json_for_script(value)
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in text
    assert json.loads(text) == value


@pytest.mark.parametrize("name", HOSTILE + [r"w$\frac{a}$^_", "$$", "a\\$b$", "$x$"])
def test_plot_text_shows_a_name_as_written_in_matplotlib(name):
    """matplotlib reads text with an even count of unescaped ``$`` as mathtext, where a name
    such as ``$\\frac{a}$`` stops the drawing; plot_text's output is never mathtext and shows
    the name as written."""
    figure = pytest.importorskip("matplotlib.figure").Figure()
    title = figure.subplots().set_title(plot_text(name))
    figure.canvas.draw()                               # a mathtext error would raise here
    assert title._preprocess_math(title.get_text()) == (name, False)


def test_json_for_script_refuses_nan():
    with pytest.raises(ValueError):
        json_for_script({"x": float("nan")})
