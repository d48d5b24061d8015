# ruff: noqa: RUF001 - the Chinese text rightly uses full-width punctuation
"""The public city dashboard, ``/stats``: server-rendered HTML with inline SVG charts, no
JavaScript, in Chinese (``?lang=zh``, the default) or English (``?lang=en``).

Each figure links to how it is recomputed from the signed records: which events it sums, and
the commands that replay them. Every value from the ledger is escaped at the one place it enters
the markup.
"""

from __future__ import annotations

from html import escape
from typing import Literal

from ledger.projections.dashboard import Bar, Dashboard

from .certificate import FIELD_NAMES_ZH, FONTS

Lang = Literal["zh", "en"]

TEXT: dict[str, dict[Lang, str]] = {
    "title": {"zh": "志愿服务数据公开", "en": "Volunteer service in figures"},
    "lead": {
        "zh": "以下数字均由经签名、记入透明日志的服务记录汇总而成，任何人都可以复核。",
        "en": "Every figure below sums signed service records kept in a transparency log; "
        "anyone can recompute it.",
    },
    "other": {"zh": "English", "en": "中文"},
    "hours": {"zh": "已审核服务时长（小时）", "en": "Approved service hours"},
    "volunteers": {"zh": "注册志愿者", "en": "Registered volunteers"},
    "activities": {"zh": "志愿服务活动", "en": "Activities"},
    "served": {"zh": "服务群众人次", "en": "People served"},
    "by-month": {"zh": "按月服务时长（小时）", "en": "Hours by month"},
    "by-field": {"zh": "按服务领域的服务时长（小时）", "en": "Hours by service field"},
    "by-district": {"zh": "按区县的服务时长（小时）", "en": "Hours by district"},
    "stars": {"zh": "星级志愿者人数", "en": "Volunteers by star level"},
    "top": {"zh": "服务时长前十的站点与队伍（小时）", "en": "Top stations and teams (hours)"},
    "recompute": {"zh": "如何复核", "en": "How to recompute"},
    "method": {"zh": "复核方法", "en": "How each figure is recomputed"},
    "none": {"zh": "暂无数据", "en": "No data yet"},
    "star": {"zh": "星", "en": "star"},
    "scheme": {"zh": "星级方案", "en": "Star scheme"},
    "json": {"zh": "机器可读数据", "en": "Machine-readable figures"},
}
HOW = {
    "by-month": {
        "zh": "汇总每条 HoursRecorded 记录经 RecordApproved 审核的分钟数，加上 RecordCorrected "
        "更正，除去 RecordVoided 作废的记录，按服务日期（service_date）所在月份分组。",
        "en": "The approved minutes of each HoursRecorded record (its RecordApproved), plus its "
        "RecordCorrected deltas, leaving out records a RecordVoided voided, grouped by the month "
        "of the record's service_date.",
    },
    "by-field": {
        "zh": "同上，按记录的服务领域（field，取自活动）分组。",
        "en": "The same minutes, grouped by the record's service field (the activity's field).",
    },
    "by-district": {
        "zh": "同上，按记录单位分组，再沿 OrganisationRegistered 的上下级关系汇总到根机构下一级。",
        "en": "The same minutes by recording organisation, rolled up the OrganisationRegistered "
        "tree to the organisations directly under the root authority.",
    },
    "stars": {
        "zh": "每位志愿者在各星级方案下最新的 StarAttained / StarWithdrawn 事件给出的星级。",
        "en": "Each volunteer's level under each scheme, from their newest StarAttained or "
        "StarWithdrawn event (the rules re-derive it from the approved minutes).",
    },
    "top": {
        "zh": "站点与队伍自身记录并经审核的分钟数（不含下级），取前十。",
        "en": "The approved minutes a station or team recorded itself (not its subtree); the "
        "ten largest.",
    },
}
STEPS: dict[Lang, str] = {
    "zh": "复核步骤：<code>ledger export --out bundle</code> 导出日志与签名检查点，"
    "<code>ledger audit --bundle bundle --trust ledger-trust.json</code> 逐条验证签名、"
    "重放全部事件并重新计算每个视图，与存储的数字不符时报告 view-digest-mismatch。"
    '也可以从 <a href="/log/checkpoint">/log/checkpoint</a> 与 <code>/leaves/N</code> '
    "取得每个事件及其包含证明，自行求和。",
    "en": "To recompute: <code>ledger export --out bundle</code> writes the log and its signed "
    "checkpoints; <code>ledger audit --bundle bundle --trust ledger-trust.json</code> checks "
    "every signature, replays every event, recomputes every view and reports "
    "view-digest-mismatch where a stored figure differs. Or fetch each event with its inclusion "
    'proof from <code>/leaves/N</code> against <a href="/log/checkpoint">/log/checkpoint</a> '
    "and sum it yourself.",
}
CSS = """
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 12px; background: #eef1f4; color: #1b1f24;
       font-family: __FONTS__; font-size: 15px; line-height: 1.5; }
main { max-width: 960px; margin: 0 auto; }
header { display: flex; justify-content: space-between; align-items: baseline; }
h1 { font-size: 26px; margin: 0; }
.lead { color: #57606a; margin: 4px 0 16px; }
.totals { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin-bottom: 14px; }
.total { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px; }
.total strong { display: block; font-size: 24px; }
figure { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin: 0 0 14px;
         padding: 12px 16px; }
figcaption { display: flex; justify-content: space-between; font-weight: 600; margin-bottom: 6px; }
figcaption a { font-weight: 400; font-size: 13px; }
svg text { font-family: __FONTS__; font-size: 12px; fill: #1b1f24; }
svg .bar { fill: #2f6fba; }
.method { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; }
.method dt { font-weight: 600; margin-top: 8px; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
""".replace("__FONTS__", FONTS)


def t(key: str, lang: Lang) -> str:
    return TEXT[key][lang]


def hours(minutes: int) -> str:
    whole, rest = divmod(minutes, 60)
    return f"{whole:,}" if rest == 0 else f"{minutes / 60:,.1f}"


def bar_chart(bars: list[Bar], lang: Lang, *, as_hours: bool = True) -> str:
    """A horizontal bar chart as inline SVG; bars scaled to the largest value."""
    if not bars:
        return f"<p>{t('none', lang)}</p>"
    row, label_width, width = 22, 260, 900
    top = max(bar.value for bar in bars) or 1
    parts = [
        f'<svg role="img" viewBox="0 0 {width} {row * len(bars) + 4}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, bar in enumerate(bars):
        y = i * row + 2
        length = round((width - label_width - 90) * bar.value / top)
        shown = hours(bar.value) if as_hours else f"{bar.value:,}"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{length}" height="{row - 6}">'
            f"<title>{escape(bar.label)}: {shown}</title></rect>"
            f'<text x="{label_width + length + 6}" y="{y + 15}">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def figure(key: str, lang: Lang, chart: str) -> str:
    return (
        f'<figure id="{key}"><figcaption><span>{t(key, lang)}</span>'
        f'<a href="#method-{key}">{t("recompute", lang)}</a></figcaption>{chart}</figure>'
    )


def _field_label(bar: Bar, lang: Lang) -> Bar:
    name = FIELD_NAMES_ZH.get(bar.key, bar.key) if lang == "zh" else bar.key.replace("-", " ")
    return Bar(bar.key, name, bar.value)


def _stars(dashboard: Dashboard, lang: Lang) -> str:
    if not dashboard.stars:
        return f"<p>{t('none', lang)}</p>"
    charts = []
    for scheme, levels in sorted(dashboard.stars.items()):
        named = [Bar(b.key, f"{b.key} {t('star', lang)}", b.value) for b in levels]
        charts.append(
            f"<p>{t('scheme', lang)}: <code>{escape(scheme)}</code></p>"
            + bar_chart(named, lang, as_hours=False)
        )
    return "".join(charts)


def render_dashboard(dashboard: Dashboard, lang: Lang) -> str:
    other: Lang = "en" if lang == "zh" else "zh"
    totals = "".join(
        f'<div class="total">{t(key, lang)}<strong>{value}</strong></div>'
        for key, value in (
            ("hours", hours(dashboard.approved_minutes)),
            ("volunteers", f"{dashboard.registered_volunteers:,}"),
            ("activities", f"{dashboard.activities:,}"),
            ("served", f"{dashboard.people_served:,}"),
        )
    )
    figures = [
        figure("by-month", lang, bar_chart(dashboard.by_month, lang)),
        figure(
            "by-field", lang, bar_chart([_field_label(b, lang) for b in dashboard.by_field], lang)
        ),
        figure("by-district", lang, bar_chart(dashboard.by_district, lang)),
        figure("stars", lang, _stars(dashboard, lang)),
        figure("top", lang, bar_chart(dashboard.top_organisations, lang)),
    ]
    method = "".join(
        f'<dt id="method-{key}">{t(key, lang)}</dt><dd>{how[lang]}</dd>' for key, how in HOW.items()
    )
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"><title>{t("title", lang)}</title><style>{CSS}</style></head>'
        f"<body><main><header><h1>{t('title', lang)}</h1>"
        f'<a href="/stats?lang={other}" hreflang="{other}">{t("other", lang)}</a></header>'
        f'<p class="lead">{t("lead", lang)}</p><div class="totals">{totals}</div>'
        + "".join(figures)
        + f'<section class="method"><h2>{t("method", lang)}</h2><dl>{method}</dl>'
        f"<p>{STEPS[lang]}</p>"
        f'<p><a href="/stats/dashboard">{t("json", lang)}</a> · '
        f'<a href="/stats/city">/stats/city</a></p></section></main></body></html>'
    )
