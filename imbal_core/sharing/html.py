"""The HTML of a shared report: escaping, numbers, tables, embedded figures and the page shell.

The page is one self-contained file. plotly.js is inlined once, from the installed plotly
package; each figure is a ``<div class="chart">`` with its JSON in a ``<script
type="application/json">`` beside it, drawn by one small script at the end. No request leaves
the page: no CDN, no web font (the system font stack), no image from elsewhere.

Everything that comes from the input (class names, file names, condition values, sentences that
quote them) goes through :func:`esc` (``html.escape``), and JSON embedded in the page has ``<``,
``>`` and ``&`` written as ``\\u003c`` ... so no text can close a tag. A formula-like name
(``=HYPERLINK(...)``) is text in HTML: nothing evaluates it.

Print: a print stylesheet; once a chart is drawn, the page makes a static PNG of it in the
browser (``Plotly.toImage``, no kaleido needed) and prints that image in place of the
interactive chart. The table beside every chart prints too, so the numbers are on paper even
where an image could not be made.
"""
from __future__ import annotations

import html
import json
import math
from typing import Any, Iterable, Sequence

from ..report import safe_text

#: A number shown where there is none (NaN, None).
MISSING = "—"
#: A text column with a value longer than this wraps (sentences); shorter ones stay on one line.
WRAP_AT = 40


def esc(value: Any) -> str:
    """``value`` as escaped HTML text (quotes too, so it is safe in an attribute)."""
    return html.escape(safe_text(str(value)), quote=True)


def number(value: Any, digits: int = 3, whole: bool = True) -> str:
    """``1,234`` for whole numbers, ``0.123`` (``digits`` decimals) for fractions, ``—`` for none.
    ``whole`` (True): a whole float reads as a whole number; False for metrics (``1.000``)."""
    if value is None or isinstance(value, str):
        return MISSING if value is None else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = float(value)
    if math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if whole and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def percent(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{float(value) * 100:.{digits}f}%"


class Raw(str):
    """HTML already built (a badge, a link): a table cell that is not escaped again."""


def cell(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return esc(number(value))
    return esc(MISSING if value is None else value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
          name: str | None = None, numeric: Sequence[bool] | None = None, scroll: bool = True) -> str:
    """A table: ``headers`` and ``rows`` escaped (except :class:`Raw` cells), numbers formatted
    by :func:`number` and right-aligned. ``name`` goes into ``data-table`` (what tests and
    scripts find it by). ``numeric`` says which columns are numbers (default: guessed)."""
    rows = [list(r) for r in rows]
    if numeric is None:
        numeric = [bool(rows) and all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) or r[i] is None
                                      for r in rows) for i in range(len(headers))]
    # long text wraps in a wide column; names and numbers stay on one line (the table scrolls)
    wrap = [any(isinstance(r[i], str) and not isinstance(r[i], Raw) and len(r[i]) > WRAP_AT for r in rows)
            for i in range(len(headers))]
    kinds = [' class="num"' if numeric[i] else ' class="wrap"' if wrap[i] else "" for i in range(len(headers))]
    attribute = f' data-table="{esc(name)}"' if name else ""
    out = [f"<table{attribute}>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th scope="col"{kinds[i]}>{esc(h)}</th>' for i, h in enumerate(headers))
        + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td{kinds[i]}>{cell(v)}</td>" for i, v in enumerate(r)) + "</tr>")
    if not rows:
        out.append(f'<tr><td colspan="{len(headers)}">none</td></tr>')
    out.append("</tbody></table>")
    body = "".join(out)
    # always in a box that scrolls sideways (a phone); ``scroll`` also caps its height on screen
    return f'<div class="table-wrap{"" if scroll else " full"}" tabindex="0">{body}</div>'


def badge(status: str) -> Raw:
    """A verdict as a coloured badge whose text is the verdict itself (``pass``, ``warn``, ``fail``)."""
    return Raw(f'<span class="badge {esc(status)}">{esc(status)}</span>')


def safe_json(obj: Any) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&`` as themselves."""
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class Figures:
    """Numbers the figures of one page and writes each as a chart ``div`` and its JSON.

    The plotly template every figure carries is written once for the page (:meth:`template_json`)
    and left out of the figures that use it.
    """

    def __init__(self) -> None:
        import plotly.io as pio

        self.count = 0
        name = pio.templates.default
        self._template = pio.templates[name].to_plotly_json() if name and name != "none" else None
        self._template_text = self._dump(self._template) if self._template is not None else None

    @staticmethod
    def _dump(obj: Any) -> str:
        from plotly.io.json import to_json_plotly

        return to_json_plotly(obj)

    def template_json(self) -> str:
        return safe_json(self._template_text or "null")

    def chart(self, fig, label: str) -> str:
        """The HTML of ``fig``: a ``div`` the page script draws, labelled ``label`` for screen readers."""
        self.count += 1
        fig_id = f"fig-{self.count}"
        data = fig.to_plotly_json()
        layout = dict(data.get("layout") or {})
        template = layout.pop("template", None)
        if template is not None and self._dump(template) != self._template_text:
            layout["template"] = template  # a figure with a template of its own keeps it
        layout.pop("width", None)  # the page sets the width: the chart follows the screen
        text = self._dump({"data": data.get("data", []), "layout": layout})
        return (f'<div class="chart" id="{fig_id}" data-figure="{fig_id}-json" role="img" aria-label="{esc(label)}">'
                f'</div><script type="application/json" id="{fig_id}-json">{safe_json(text)}</script>'
                f'<p class="print-note">{esc(label)}: the interactive chart; its numbers are in the table.</p>')


def pair(chart_html: str, table_html: str, wide: bool = False) -> str:
    """A chart with its table beside it (below it on a narrow screen)."""
    kind = "pair wide" if wide else "pair"
    return f'<div class="{kind}"><div class="pair-chart">{chart_html}</div><div class="pair-table">{table_html}</div></div>'


CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--soft:#f6f7f9;--pass:#1e7d32;--warn:#a15c00;--fail:#b3261e}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;
color:var(--fg);background:var(--bg);line-height:1.45;font-size:15px}
main{max-width:1280px;margin:0 auto;padding:1rem}
header.top{border-bottom:1px solid var(--line);padding-bottom:.5rem;margin-bottom:1rem}
h1{font-size:1.6rem;margin:.2rem 0 .6rem}
h2{font-size:1.3rem;margin:2rem 0 .6rem;padding-top:.4rem;border-top:2px solid var(--line)}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
p{margin:.4rem 0}
.muted,.note{color:var(--muted);font-size:.9rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}
dl.facts dt{color:var(--muted)} dl.facts dd{margin:0;overflow-wrap:anywhere}
code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;overflow-wrap:anywhere}
nav.toc{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:.6rem 1rem;margin:1rem 0}
nav.toc ol{margin:.2rem 0;padding-left:1.3rem} nav.toc a{color:#1a56b3}
.table-wrap{overflow:auto;max-height:30rem;border:1px solid var(--line);border-radius:6px;margin:.4rem 0}
.table-wrap.full{max-height:none}
table{border-collapse:collapse;width:100%;font-size:.86rem}
caption{text-align:left;font-weight:600;padding:.35rem .5rem;caption-side:top}
th,td{padding:.25rem .5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
td.wrap,th.wrap{white-space:normal;min-width:18rem;overflow-wrap:break-word}
thead th{position:sticky;top:0;background:var(--soft);z-index:1}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;white-space:nowrap;padding:0 .45rem;border-radius:999px;font-weight:600;font-size:.82rem;color:#fff}
.badge.pass{background:var(--pass)} .badge.warn{background:var(--warn)} .badge.fail{background:var(--fail)}
.pair{display:grid;grid-template-columns:minmax(0,1fr);gap:1rem;margin:.6rem 0 1.2rem}
@media (min-width:960px){.pair{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}.pair.wide{grid-template-columns:minmax(0,1fr)}}
.chart{width:100%;min-height:260px}
.print-image,.print-note{display:none}
ul.findings{padding-left:1.2rem}
@media (max-width:600px){body{font-size:14px}main{padding:.6rem}h1{font-size:1.3rem}.table-wrap{max-height:22rem}
td.wrap,th.wrap{min-width:14rem}}
@media print{
  body{font-size:10.5pt} main{max-width:none;padding:0}
  nav.toc{break-after:page}
  h2{break-before:auto;break-after:avoid} h3{break-after:avoid}
  .chart{display:none}
  .print-image{display:block;max-width:100%;height:auto;break-inside:avoid}
  .pair-chart:not(:has(.print-image)) .print-note{display:block}
  .pair{display:block}
  .table-wrap{max-height:none;overflow:visible;border:none}
  thead th{position:static}
  tr{break-inside:avoid}
  a{color:inherit;text-decoration:none}
}
"""

#: Draws every chart, then makes its static image for print (no network: plotly.js is in the page).
SCRIPT = """
(function(){
  var template = JSON.parse(document.getElementById('imbal-plotly-template').textContent);
  var charts = Array.prototype.slice.call(document.querySelectorAll('.chart[data-figure]'));
  var config = {responsive: true, displaylogo: false, modeBarButtonsToRemove: ['sendDataToCloud']};
  function snapshot(i){
    if (i >= charts.length || typeof Plotly.toImage !== 'function') return;
    var el = charts[i];
    var height = (el._fullLayout && el._fullLayout.height) || 400;
    Plotly.toImage(el, {format: 'png', width: 1000, height: height, scale: 1}).then(function(url){
      var img = document.createElement('img');
      img.className = 'print-image'; img.alt = el.getAttribute('aria-label') || 'chart'; img.src = url;
      el.parentNode.insertBefore(img, el.nextSibling);
    }, function(){}).then(function(){ snapshot(i + 1); });
  }
  var drawn = charts.map(function(el){
    var fig = JSON.parse(document.getElementById(el.getAttribute('data-figure')).textContent);
    var layout = fig.layout || {};
    if (!layout.template && template) layout.template = template;
    return Plotly.newPlot(el, fig.data || [], layout, config).then(function(){ el.setAttribute('data-drawn', 'true'); });
  });
  Promise.all(drawn).then(function(){
    document.body.setAttribute('data-charts-drawn', String(charts.length));
    setTimeout(function(){ snapshot(0); }, 50);
  });
})();
"""


def page(title: str, body: str, figures: Figures, generated_at: str) -> str:
    """The whole document: ``body`` (built HTML), plotly.js once, the figures' script."""
    from plotly.offline import get_plotlyjs

    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="imbal report"><meta name="created" content="{esc(generated_at)}">'
        # nothing may be fetched: a CSP that allows only what is inside the file
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>{body}</main>"
        f'<script type="application/json" id="imbal-plotly-template">{figures.template_json()}</script>'
        f"<script>{plotly_js}</script><script>{SCRIPT}</script></body></html>\n"
    )
