"""review.html: one self-contained page (no network, no script) rendered from review.json's numbers.

Every figure carries `data-key` (its place in review.json) and `data-fmt`, so a test can read the page
and compare. Each thumbnail is one CSS class with an inlined JPEG, written once however often shown.
Confusion cells link to `#cell-i-j`; CSS `:target` opens that cell's photos.
"""

from __future__ import annotations

from html import escape

CSS = """body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border:1px solid #ddd;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.ci{color:#777;font-size:12px}
.th{display:inline-block;width:96px;height:96px;background:#eee center/contain no-repeat;vertical-align:middle}
.grid{display:flex;flex-wrap:wrap;gap:4px}.panel{display:none;border:1px solid #ccc;padding:8px;margin:8px 0}
.panel:target{display:block}.cm a{display:block;text-decoration:none;color:inherit}.diag{background:#e6f0ff}
.off{background:#ffe9e6}.note{background:#fff8dc;padding:6px 10px;border-left:3px solid #e0b000}
"""


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def num(key: str, value, fmt: str = "pct") -> str:
    text = pct(value) if fmt == "pct" else (f"{value:.3f}" if fmt == "f3" else str(value))
    return f'<span data-key="{escape(key)}" data-fmt="{fmt}">{text}</span>'


def with_ci(key: str, figure: dict) -> str:
    lo, hi = figure["ci95"]
    return (f'{num(key + ".value", figure["value"])} <span class="ci">({num(key + ".ci95.0", lo)}'
            f'&ndash;{num(key + ".ci95.1", hi)})</span>')


def thumb(i: int, path: str) -> str:
    return f'<span class="th t{i}" title="{escape(path)}"></span>'


def thumb_css(thumbs: list[str | None]) -> str:
    return "".join(f".t{i}{{background-image:url(data:image/jpeg;base64,{t})}}\n"
                   for i, t in enumerate(thumbs) if t)


def header(rv: dict) -> str:
    acc = rv["accuracy"]
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in rv["notes"])
    return (f"<h1>edge review: {escape(rv['title'])}</h1>{notes}<p>{num('photos', rv['photos'], 'int')} photos, "
            f"{len(rv['classes'])} classes; predictions: {escape(rv['method'])}. Accuracy {with_ci('accuracy', acc)} "
            f"(95% Wilson interval).</p>{nav(rv)}")


def nav(rv: dict) -> str:
    parts = [("suspects", "suspected label errors"), ("misclassified", "misclassified"), ("duplicates", "near-duplicate "
             "pairs"), ("outliers", "outliers")]
    links = [f'<a href="#{k}">{len(rv[k])} {name}</a>' for k, name in parts]
    return f'<p>{" &middot; ".join(links)} &middot; <a href="#sources">where the photos came from</a></p>'


def class_table(rv: dict) -> str:
    rows = []
    for c, row in enumerate(rv["per_class"]):
        k = f"per_class.{c}"
        rows.append(f'<tr><td class="l">{escape(row["class"])}</td><td>{num(k + ".photos", row["photos"], "int")}</td>'
                    f'<td>{with_ci(k + ".precision", row["precision"])}</td><td>{with_ci(k + ".recall", row["recall"])}'
                    f'</td><td>{with_ci(k + ".f1", row["f1"])}</td></tr>')
    return ("<h2>Per class</h2><p>Precision and recall: 95% Wilson intervals; F1: percentile bootstrap.</p>"
            '<table id="per-class"><tr><th class="l">class</th><th>photos</th><th>precision</th><th>recall</th>'
            f"<th>F1</th></tr>{''.join(rows)}</table>")


def confusion(rv: dict) -> str:
    classes, counts, cells = rv["classes"], rv["confusion"]["counts"], rv["confusion"]["photos"]
    head = "".join(f"<th>{escape(c)}</th>" for c in classes)
    body, panels = [], []
    for i, name in enumerate(classes):
        tds = []
        for j in range(len(classes)):
            kind = "diag" if i == j else ("off" if counts[i][j] else "")
            tds.append(f'<td class="{kind}"><a href="#cell-{i}-{j}">{num(f"confusion.counts.{i}.{j}", counts[i][j], "int")}'
                       "</a></td>")
            photos = "".join(thumb(p, rv["shown"][p]) for p in cells[i][j])
            panels.append(f'<div class="panel" id="cell-{i}-{j}"><b>given {escape(name)}, predicted '
                          f'{escape(classes[j])}: {counts[i][j]} photo(s)</b><div class="grid">{photos}</div></div>')
        body.append(f'<tr><th class="l">{escape(name)}</th>{"".join(tds)}</tr>')
    return ('<h2>Confusion matrix</h2><p>Rows: given label; columns: predicted. Click a cell for its photos.</p>'
            f'<table class="cm" id="confusion"><tr><th></th>{head}</tr>{"".join(body)}</table>{"".join(panels)}')


def _text(value) -> str:
    return ("yes" if value else "") if isinstance(value, bool) else escape(str(value))


def photo_table(title: str, anchor: str, intro: str, rows: list[dict], columns: list[tuple[str, str, str]],
                key: str) -> str:
    """One row per photo: thumbnail, path, then `columns` as (header, field, fmt)."""
    head = "".join(f"<th>{escape(h)}</th>" for h, _, _ in columns)
    body = []
    for n, row in enumerate(rows):
        cells = "".join(f"<td>{num(f'{key}.{n}.{f}', row[f], fmt)}</td>" if fmt in ("pct", "int", "f3")
                        else f'<td class="l">{_text(row[f])}</td>' for _, f, fmt in columns)
        body.append(f'<tr><td>{thumb(row["index"], row["path"])}</td><td class="l">{escape(row["path"])}</td>{cells}</tr>')
    return (f'<h2 id="{anchor}">{escape(title)} ({len(rows)})</h2><p>{intro}</p><table><tr><th></th>'
            f'<th class="l">photo</th>{head}</tr>{"".join(body)}</table>')


def duplicates(rv: dict) -> str:
    rows = []
    for n, d in enumerate(rv["duplicates"]):
        where = "across classes" if d["across_classes"] else "same class"
        rows.append(f'<tr><td>{thumb(d["index_a"], d["a"])}</td><td>{thumb(d["index_b"], d["b"])}</td>'
                    f'<td class="l">{escape(d["a"])}<br>{escape(d["b"])}</td>'
                    f'<td>{num(f"duplicates.{n}.distance", d["distance"], "int")}</td><td class="l">{where}</td></tr>')
    return (f'<h2 id="duplicates">Near-duplicates ({len(rv["duplicates"])})</h2><p>Perceptual hash (pHash, 64 bits) '
            f'within {rv["duplicate_max_distance"]} bits. Across classes, one label is wrong; in one class, the copy '
            "counts twice in the estimate.</p><table><tr><th></th><th></th><th class=\"l\">photos</th><th>distance</th>"
            f'<th class="l">where</th></tr>{"".join(rows)}</table>')


def sources(rv: dict) -> str:
    classes = rv["classes"]
    head = "".join(f"<th>{escape(c)}</th>" for c in classes)
    body = []
    for n, s in enumerate(rv["sources"]):
        cells = "".join(f"<td>{num(f'sources.{n}.per_class.{c}', s['per_class'][c], 'int')}</td>" for c in classes)
        body.append(f'<tr><td class="l">{escape(s["folder"])}</td><td>{num(f"sources.{n}.photos", s["photos"], "int")}'
                    f"</td>{cells}</tr>")
    return ('<h2 id="sources">Where the photos came from</h2><table><tr><th class="l">data folder</th><th>photos</th>'
            f'{head}</tr>{"".join(body)}</table>')


def int8_section(rv: dict) -> str:
    info = rv.get("int8")
    if not info:
        return ""
    parts = []
    for n, pair in enumerate(info["pairs"]):
        cols = [("INT8", "int8", ""), ("FP32", "fp32", ""), ("INT8 prob", "int8_prob", "pct"),
                ("FP32 prob", "fp32_prob", "pct")]
        parts.append(photo_table(f"{pair['int8_format']} vs {pair['fp32_format']}: disagreements", f"int8-{n}",
                                 f"{pair['agree']} of {pair['photos']} photos agree (top-1 and unknown decision).",
                                 pair["disagreements"], cols, f"int8.pairs.{n}.disagreements"))
    return "".join(parts)


def render(rv: dict, thumbs: list[str | None]) -> str:
    many = len(rv["sources"]) > 1
    src = [("from", "source", "")] if many else []
    body = [header(rv), class_table(rv), confusion(rv),
            photo_table("Suspected label errors", "suspects", "cleanlab on the out-of-fold probabilities: photos "
                        "confident learning flags, or whose top-1 is another class, worst label quality (normalized "
                        "margin) first; each with the label the model suggests.",
                        rv["suspects"], [("given", "given", ""), ("suggested", "suggested", ""),
                                         ("given prob", "self_confidence", "pct"),
                                         ("suggested prob", "suggested_prob", "pct"),
                                         ("label quality", "label_quality", "f3"),
                                         ("flagged by confident learning", "confident_learning", ""), *src],
                        "suspects"),
            photo_table("Misclassified", "misclassified", "Every photo whose top-1 is not its label, most confident "
                        "first.", rv["misclassified"], [("true", "true", ""), ("predicted", "predicted", ""),
                                                         ("confidence", "confidence", "pct"), *src], "misclassified"),
            duplicates(rv),
            photo_table("In-class outliers", "outliers", "Photos the deployed model would call unknown (unknown score "
                        "below its threshold), least like any class first.", rv["outliers"],
                        [("class", "class", ""), ("score", "score", "f3"), *src], "outliers"),
            int8_section(rv), sources(rv)]
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>edge review: {escape(rv["title"])}</title>'
            f'<style>{CSS}{thumb_css(thumbs)}</style></head><body>{"".join(body)}</body></html>\n')
