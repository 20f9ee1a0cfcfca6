"""Free text on its way into HTML: escaped once, here.

A scenario's names are checked (:mod:`compmodel.validate`), but its free text is not:
its ``name``, descriptions, notes, sources, units and labels may hold anything a file
holds. Whatever of it reaches a page goes through one of these:

* :func:`escape_html` for text placed in an element or an attribute value;
* :func:`script_safe_json` for JSON placed inside a ``<script>`` element (a chart's
  spec): ``</script>`` in a string would end the element and run what follows.

This module imports nothing of compmodel, so any layer may use it.
"""

from __future__ import annotations

import html

__all__ = ["escape_html", "script_safe_json"]

# JSON text keeps its meaning with these as \uXXXX escapes (they only occur inside
# strings); inside a <script> they could end the element, open a comment or, for
# U+2028/U+2029, end a line in older JavaScript.
_SCRIPT_UNSAFE = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def escape_html(text: object) -> str:
    """``text`` (made a string with ``str``) safe inside an HTML element or a quoted
    attribute: ``& < > " '`` become character references."""
    return html.escape(str(text), quote=True)


def script_safe_json(text: str) -> str:
    """JSON text made safe inside a ``<script>`` element: ``<``, ``>``, ``&``, U+2028
    and U+2029 become ``\\uXXXX`` escapes. The JSON parses to the same value."""
    return text.translate(_SCRIPT_UNSAFE)
