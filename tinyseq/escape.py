"""Every name that reaches a picture or a page goes through one of these functions.

Module, parameter, scope and op names come from user code or from a loaded checkpoint, so a
name may hold quotes, braces, ``<``, newlines or ``</script>``. Each writer (DOT text, SVG via
Graphviz, the explorer's HTML, matplotlib's labels) calls the one function for the context it
writes into, and no ``URL`` or ``href`` attribute is ever built from a name.
"""
import html
import json

_JSON_IN_SCRIPT = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                   "\u2028": "\\u2028", "\u2029": "\\u2029"}


def dot_string(text):
    """A Graphviz quoted string (ID or plain label) that shows ``text`` as written: a
    backslash or quote cannot end the string or start an escape, a newline becomes a line
    break."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return '"' + text + '"'


def dot_html(text):
    """Text inside a Graphviz HTML-like label ``<...>``: markup characters become entities,
    so a name cannot open a tag or close the label."""
    return html.escape(str(text), quote=True)


def html_text(text):
    """Text for an HTML element's content or a quoted attribute value."""
    return html.escape(str(text), quote=True)


def plot_text(text):
    """Text for a matplotlib label, tick or title that shows ``text`` as written: a ``$``
    cannot start mathtext (where ``$\\frac{a}$`` in a name would stop the plot)."""
    return str(text).replace("$", "\\$")


def json_for_script(value):
    """JSON to embed in an HTML ``<script>`` element: ``<``, ``>``, ``&`` and the JavaScript
    line separators are written as ``\\u`` escapes, so no ``</script>`` or ``<!--`` can end or
    stall the script, and ``JSON.parse`` gives back exactly ``value``."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    for char, escaped in _JSON_IN_SCRIPT.items():
        text = text.replace(char, escaped)
    return text
