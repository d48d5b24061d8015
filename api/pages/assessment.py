# ruff: noqa: RUF001 - the Chinese text rightly uses full-width commas, colons and brackets
"""Public pages of assessment results: one per unit, and the ranking of a scheme and period.

Plain HTML and inline SVG charts, no JavaScript. Chinese and English are both on the page; the
language asked for comes first. Every value from the ledger is escaped where it enters markup.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from ledger.assessment.catalogue import CATALOGUE

BANDS_ZH = {
    "standard": "达标",
    "city-level": "市级",
    "province-level": "省级",
    "national-level": "国家级",
    "commended": "表彰",
    "unrated": "未评级",
}
UNITS_ZH = {
    "volunteers": "人",
    "per-mille": "‰",
    "activities": "次",
    "minutes": "分钟",
    "weeks": "周",
    "people": "人",
}
CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans",Arial,sans-serif;margin:2rem auto;max-width:60rem;
color:#1b1b1b;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}.num{text-align:right;white-space:nowrap}
.second{display:block;font-size:.8em;color:#555}.score{font-size:2rem;font-weight:bold}
code{background:#f3f3f3;padding:0 .2rem}svg text{font-size:12px;font-family:inherit}
"""


class _Text:
    def __init__(self, english_first: bool) -> None:
        self.english_first = english_first

    def both(self, zh: str, en: str) -> str:
        a, b = f'<span lang="zh-CN">{escape(zh)}</span>', f'<span lang="en">{escape(en)}</span>'
        first, second = (b, a) if self.english_first else (a, b)
        return f'{first}<span class="second">{second}</span>'


def band_names(band: str) -> tuple[str, str]:
    return BANDS_ZH.get(band, band), band.replace("-", " ")


def _page(title: str, body: str, english_first: bool) -> str:
    lang = "en" if english_first else "zh-CN"
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def bar_chart(rows: list[tuple[str, int]], title: str) -> str:
    """Horizontal bars of 0..1000 scores, as inline SVG."""
    height = 26 * len(rows) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="640" height="{height}" '
        f'viewBox="0 0 640 {height}"><title>{escape(title)}</title>'
    ]
    for i, (label, score) in enumerate(rows):
        y = 5 + 26 * i
        width = max(0, min(score, 1000)) * 380 // 1000
        parts.append(
            f'<text x="0" y="{y + 15}">{escape(label)}</text>'
            f'<rect x="200" y="{y}" width="380" height="18" fill="#e6e6e6"/>'
            f'<rect x="200" y="{y}" width="{width}" height="18" fill="#b5282e"/>'
            f'<text x="588" y="{y + 15}">{score}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_unit_page(
    scheme: dict[str, Any], published: dict[str, Any], *, english_first: bool
) -> str:
    t = _Text(english_first)
    unit, period = published["unit"], published["period"]
    weights = {i["indicator"]: i for i in scheme["indicators"]}
    zh_band, en_band = band_names(published["rating"])
    rows = []
    for figure in published["figures"]:
        indicator = CATALOGUE[figure["indicator"]]
        entry = weights.get(figure["indicator"], {})
        rows.append(
            "<tr>"
            f"<td>{t.both(indicator.title_zh, indicator.title_en)}"
            f"<code>{escape(indicator.indicator)}</code></td>"
            f'<td lang="en">{escape(indicator.formula)}</td>'
            f'<td class="num">{int(figure["value"])} '
            f"{escape(UNITS_ZH.get(indicator.unit, indicator.unit))}</td>"
            f'<td class="num">{int(entry.get("target", 0))}</td>'
            f'<td class="num">{int(figure["score"])}</td>'
            f'<td class="num">{int(entry.get("weight", 0))}‰</td>'
            "</tr>"
        )
    chart = bar_chart(
        [(f["indicator"], int(f["score"])) for f in published["figures"]],
        f"scores of {unit} under {scheme['scheme_id']} {period}",
    )
    leaf = int(published["leaf_index"])
    size, version, owner = published["log_size"], published["scheme_version"], scheme["owner"]
    scheme_id = quote(str(published["scheme_id"]))
    heading = t.both(
        f"{unit} 志愿服务测评 {period}", f"Volunteer service assessment of {unit}, {period}"
    )
    about = t.both(
        f"测评方案：{scheme['name']}（第 {version} 版，发布单位 {owner}）",
        f"Scheme: {scheme['name']} (version {version}, by {owner})",
    )
    signed = t.both(
        f"本结果由方案发布单位签名，记入日志第 {leaf} 号叶子，承诺基于日志前 {size} 条记录计算。",
        f"This result is signed by the scheme's owner, logged at leaf {leaf}, and commits "
        f"to the figures computed from the first {size} leaves of the log.",
    )
    anyone = t.both(
        "任何人均可导出账本并离线审计，审计会从已签名记录重新计算每一项已发布结果：",
        "Anyone can export the ledger and audit it offline; the audit recomputes every "
        "published result from the signed records:",
    )
    badge = ""
    if published["rating"] != "unrated":
        link = f"/assessments/{scheme_id}/{quote(str(period))}/{quote(str(unit))}/badge"
        label = t.both("等级的开放徽章 3.0 凭证", "The rating as an Open Badges 3.0 credential")
        badge = f'<li><a href="{link}">{label}</a></li>\n'
    body = f"""
<h1>{heading}</h1>
<p>{about}</p>
<p><span class="score">{int(published["score"])}</span> / 1000 &nbsp;
{t.both(f"等级：{zh_band}", f"Rating: {en_band}")}</p>
<h2>{t.both("各项指标得分", "Score of each indicator")}</h2>
{chart}
<h2>{t.both("指标、公式与数值", "Indicators, formulas and values")}</h2>
<table><thead><tr><th>{t.both("指标", "Indicator")}</th><th>{t.both("公式", "Formula")}</th>
<th>{t.both("数值", "Value")}</th><th>{t.both("满分值", "Target")}</th>
<th>{t.both("得分", "Score")}</th><th>{t.both("权重", "Weight")}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2 id="recompute">{t.both("如何复算", "How to recompute it")}</h2>
<p>{signed}</p>
<ul>
<li><a href="/leaves/{leaf}">{
        t.both("签名结果及其包含证明", "The signed result and its inclusion proof")
    }</a></li>
<li><a href="/assessment-schemes/{scheme_id}">{
        t.both("测评方案及各指标公式", "The scheme and each formula")
    }</a></li>
{badge}<li><a href="/assessment-pages/{scheme_id}/{quote(str(period))}">{
        t.both("本期排名", "The ranking")
    }</a></li>
</ul>
<p>{anyone}</p>
<pre><code>ledger export --out bundle
ledger audit --bundle bundle</code></pre>
"""
    title = f"{unit} {scheme['scheme_id']} {period}"
    return _page(title, body, english_first)


def render_ranking_page(
    scheme: dict[str, Any], period: str, ranking: list[dict[str, Any]], *, english_first: bool
) -> str:
    t = _Text(english_first)
    scheme_id = quote(str(scheme["scheme_id"]))
    rows = []
    for row in ranking:
        zh_band, en_band = band_names(row["rating"])
        unit = str(row["unit"])
        rows.append(
            f'<tr><td class="num">{int(row["rank"])}</td>'
            f'<td><a href="/assessment-pages/{scheme_id}/{quote(period)}/{quote(unit)}">'
            f"{escape(unit)}</a></td>"
            f'<td class="num">{int(row["score"])}</td><td>{t.both(zh_band, en_band)}</td>'
            f'<td class="num">{int(row["log_size"])}</td></tr>'
        )
    chart = bar_chart(
        [(str(r["unit"]), int(r["score"])) for r in ranking[:40]],
        f"ranking of {scheme['scheme_id']} {period}",
    )
    body = f"""
<h1>{t.both(f"{scheme['name']} {period} 排名", f"{scheme['name']}: ranking for {period}")}</h1>
{chart}
<table><thead><tr><th>{t.both("名次", "Rank")}</th><th>{t.both("单位", "Unit")}</th>
<th>{t.both("得分", "Score")}</th><th>{t.both("等级", "Rating")}</th>
<th>{t.both("计算时日志大小", "Log size")}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
"""
    return _page(f"{scheme['scheme_id']} {period}", body, english_first)
