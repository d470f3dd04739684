"""HTML building blocks: escaping, the page shell, its style sheet and the search script.

Every value is escaped unless it is :class:`Raw` (HTML this package built itself). Pages
carry a Content-Security-Policy that allows only their own inline style sheet and script
(by hash) and no fetch of any kind, so even markup that slipped through could neither run
nor reach the network.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime


class Raw(str):
    """HTML built by this package: inserted as it is, never escaped again."""


def esc(value: object) -> str:
    """``value`` as text safe in HTML content and attribute values (None is empty)."""
    if isinstance(value, Raw):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def tag(name: str, body: object = "", **attributes: object) -> Raw:
    """``<name attributes>body</name>``; ``class_`` stands for ``class``; a None attribute is
    left out and True is written bare."""
    parts = [name]
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        parts.append(key if value is True else f'{key}="{esc(value)}"')
    return Raw(f"<{' '.join(parts)}>{esc(body)}</{name}>")


def join(parts: Iterable[object], separator: str = "") -> Raw:
    """The parts, each escaped unless :class:`Raw`, joined."""
    return Raw(separator.join(esc(p) for p in parts))


def link(href: str, text: object, **attributes: object) -> Raw:
    """A link to a page of the portal."""
    return tag("a", text, href=href, **attributes)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], **attributes: object) -> Raw:
    """A table with a header row; cells are escaped unless :class:`Raw`."""
    head = tag("thead", tag("tr", join(tag("th", h, scope="col") for h in header)))
    body = tag("tbody", join(tag("tr", join(tag("td", c) for c in row)) for row in rows))
    return tag("table", join([head, body]), **attributes)


def definition_list(items: Iterable[tuple[str, object]]) -> Raw:
    """A ``<dl>`` of term and value pairs."""
    return tag("dl", join(join([tag("dt", k), tag("dd", v)]) for k, v in items))


def badge(text: str, kind: str) -> Raw:
    """A small coloured label (``kind``: ok, bad, warn, info)."""
    return tag("span", text, class_=f"badge {kind}")


_UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")


def file_name(name: str) -> str:
    """A file name for ``name``: characters other than letters, digits, ``_``, ``.`` and
    ``-`` become ``_``, with a short digest when anything was replaced (names stay unique)."""
    safe = _UNSAFE_FILE_CHARACTERS.sub("_", name).lstrip(".") or "_"
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return safe + ".html"


def when(value: object) -> str:
    """A timestamp to the second (``2025-12-03 06:00:00``); other values as text."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def anchor(name: str) -> str:
    """An element id for ``name`` (a column), stable and safe in a URL fragment."""
    return "col-" + _UNSAFE_FILE_CHARACTERS.sub("_", name)


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:0;color:#0b0c0c;
background:#f3f2f1;line-height:1.45}
header{background:#0b0c0c;color:#fff;padding:.6em 1.2em;display:flex;flex-wrap:wrap;gap:1.2em;
align-items:baseline}
header a{color:#fff;text-decoration:none;font-weight:600}
header nav a{font-weight:400;margin-right:1em;text-decoration:underline}
main{max-width:74em;margin:0 auto;padding:1em 1.2em 3em;background:#fff}
footer{max-width:74em;margin:0 auto;padding:.8em 1.2em;color:#505a5f;font-size:.85em}
h1{font-size:1.6em;margin:.4em 0}h2{font-size:1.25em;margin-top:1.6em;
border-bottom:2px solid #b1b4b6}h3{font-size:1.08em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em;width:100%}
th,td{border:1px solid #b1b4b6;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f2f1}tr:target td{background:#fff7bf}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}
dd{margin:0}code{background:#f3f2f1;padding:0 .2em}
.badge{display:inline-block;padding:0 .45em;border-radius:.3em;font-size:.85em;
font-weight:600}
.ok{background:#cce2d8;color:#005a30}.bad{background:#f6d7d2;color:#942514}
.warn{background:#fff7bf;color:#594d00}.info{background:#d2e2f1;color:#0b4a7a}
.note{background:#f3f2f1;border-left:4px solid #1d70b8;padding:.4em .8em}
.declaration{border:1px solid #b1b4b6;padding:0 1em;margin:.6em 0}
svg{max-width:100%;height:auto;font-family:inherit}
.lineage-wrap{overflow-x:auto;border:1px solid #b1b4b6;padding:.4em}
.lineage-wrap svg{max-width:none}
svg .node rect{fill:#fff;stroke:#505a5f}svg .node.focus rect{fill:#1d70b8}
svg .node.focus text{fill:#fff}svg a.node:hover rect{fill:#d2e2f1}
svg .node.landing rect,svg .node.asset rect{fill:#f3f2f1;stroke-dasharray:4 2}
svg .edge{fill:none;stroke:#6f777b;stroke-width:1.2}
svg .edge.direct{stroke:#1d70b8}svg .edge.derived{stroke:#00703c}
svg .edge.aggregated{stroke:#f47738}svg .edge.masked{stroke:#942514;stroke-dasharray:5 3}
svg text{font-size:12px;fill:#0b0c0c}
svg .run-line{fill:none;stroke:#1d70b8;stroke-width:2}
svg .run-point{fill:#1d70b8}svg .run-point.failed{fill:#d4351c}
svg .axis{stroke:#b1b4b6}
#search{font-size:1.1em;padding:.4em;width:100%;max-width:36em;box-sizing:border-box}
#results li{margin:.2em 0}.kind{color:#505a5f;font-size:.85em;margin-left:.5em}
""".strip()

SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById('search-index').textContent);
  var box = document.getElementById('search');
  var list = document.getElementById('results');
  var count = document.getElementById('result-count');
  var shown = 60;
  function show() {
    var terms = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!terms.length) { count.textContent = ''; return; }
    var found = data.filter(function (e) {
      var text = (e.n + ' ' + e.d + ' ' + e.t).toLowerCase();
      return terms.every(function (t) { return text.indexOf(t) >= 0; });
    });
    found.sort(function (a, b) {
      var x = (a.n.toLowerCase() === terms[0] ? 0 : 1) - (b.n.toLowerCase() === terms[0] ? 0 : 1);
      return x || (a.k === b.k ? 0 : (a.k === 'dataset' ? -1 : 1));
    });
    found.slice(0, shown).forEach(function (e) {
      var item = document.createElement('li');
      item.className = 'result ' + e.k;
      var a = document.createElement('a');
      a.href = e.u;
      a.textContent = e.n;
      item.appendChild(a);
      var kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = (e.k === 'column' ? 'column of ' + e.d : 'dataset, ' + e.d) +
        (e.c ? ', ' + e.c : '') + (e.t ? ': ' + e.t : '');
      item.appendChild(kind);
      list.appendChild(item);
    });
    count.textContent = found.length + (found.length === 1 ? ' match' : ' matches') +
      (found.length > shown ? ' (first ' + shown + ' shown)' : '');
  }
  box.addEventListener('input', show);
  var query = new URLSearchParams(window.location.search).get('q');
  if (query) { box.value = query; }
  show();
})();
""".strip()


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(script: bool) -> str:
    """The pages' policy: nothing fetched, only this package's own style sheet and script."""
    scripts = _digest(SCRIPT) if script else "'none'"
    return (
        f"default-src 'none'; style-src {_digest(STYLE)}; script-src {scripts}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def page(title: str, body: object, root: str, footer: object = "", script: bool = False) -> str:
    """A whole page: ``root`` is the relative path to the portal's top folder ("" or "../")."""
    nav = join(
        [
            link(f"{root}index.html", "Datasets"),
            link(f"{root}index.html#departments", "Departments"),
            link(f"{root}quality/index.html", "Quality"),
            link(f"{root}agreements.html", "Sharing agreements"),
        ]
    )
    scripts = Raw(f"<script>{SCRIPT}</script>") if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" '
        f'content="{esc(content_security_policy(script))}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{esc(title)} · Common Ground governance portal</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header>{link(f'{root}index.html', 'Common Ground governance portal')}"
        f"<nav>{nav}</nav></header>\n"
        f"<main>\n{tag('h1', title)}\n{esc(body)}\n</main>\n"
        f"<footer>{esc(footer)}</footer>\n{scripts}\n</body>\n</html>\n"
    )
