# ruff: noqa: RUF001 - the Chinese text rightly uses full-width commas, colons and brackets
"""The public verification page of a certificate of service, ``/verify/<certificate number>``.

Plain HTML and CSS, no JavaScript: a person sees whether the certificate is valid (the verdict
is computed on the server with the ledger's own verifiers), what it certifies, who issued it,
and, if it was revoked, when and why. Chinese and English are on the same page; the language
asked for (or the certificate's own) comes first. Every value from the ledger is escaped here,
with :func:`html.escape`, at the one place it enters the markup. The page prints on one A4
sheet (print CSS), with the QR code that leads back to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

State = Literal["valid", "revoked", "invalid"]

FIELD_NAMES_ZH = {
    "theory-lectures": "理论宣讲",
    "culture-and-arts": "文化文艺",
    "science-popularisation": "科学普及",
    "psychological-counselling": "心理疏导",
    "medical-and-health": "医疗卫生",
    "legal-aid": "法律援助",
    "care-for-elderly-and-children": "关爱一老一小",
    "emergency-rescue": "应急救援",
    "community-governance": "社区治理",
    "traffic-persuasion": "文明交通劝导",
    "large-event-service": "大型活动服务",
}

FONTS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
    '"WenQuanYi Micro Hei", "Noto Sans", "Helvetica Neue", Arial, sans-serif'
)

CSS = """
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --ok: #1a7f37; --ok-bg: #dafbe1;
        --bad: #b42318; --bad-bg: #fee4e2; --warn: #9a6700; --warn-bg: #fff8c5; }
* { box-sizing: border-box; }
html { background: #eef1f4; }
body { margin: 0; padding: 24px 12px; color: var(--ink); font-family: __FONTS__;
       font-size: 15px; line-height: 1.5; }
.sheet { max-width: 880px; margin: 0 auto; background: #fff; border: 1px solid var(--line);
         border-radius: 6px; padding: 28px 36px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 16px;
         border-bottom: 2px solid var(--ink); padding-bottom: 12px; }
h1 { font-size: 26px; margin: 0; line-height: 1.25; }
h1 .second { display: block; font-size: 17px; font-weight: 500; color: var(--muted); }
h2 { font-size: 16px; margin: 18px 0 6px; border-bottom: 1px solid var(--line);
     padding-bottom: 3px; }
.certno { text-align: right; font-size: 13px; color: var(--muted); white-space: nowrap; }
.certno strong { display: block; font-size: 17px; color: var(--ink);
                 font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.verdict { margin: 16px 0 4px; padding: 14px 18px; border-radius: 6px; border: 2px solid;
           -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.verdict.valid { color: var(--ok); background: var(--ok-bg); border-color: var(--ok); }
.verdict.revoked, .verdict.invalid { color: var(--bad); background: var(--bad-bg);
                                      border-color: var(--bad); }
.verdict .word { font-size: 30px; font-weight: 700; margin: 0; letter-spacing: .04em; }
.verdict p { margin: 4px 0 0; color: var(--ink); }
.verdict .why { font-weight: 600; }
.grid { display: grid; grid-template-columns: 1fr 190px; gap: 22px; align-items: start; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px;
         border-bottom: 1px solid var(--line); }
th { width: 38%; font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; width: auto; }
.facts td { font-weight: 600; }
.total { font-size: 18px; }
.sep { color: var(--muted); }
.lbl-second { display: block; font-weight: 400; font-size: 12px; }
.qr { text-align: center; font-size: 12px; color: var(--muted); }
.qr svg { width: 170px; height: 170px; display: block; margin: 0 auto 4px; }
.qr .url { overflow-wrap: anywhere; font-size: 10px; }
.revocation { border-left: 4px solid var(--bad); padding: 6px 12px; background: #fff5f4;
              -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 22px; }
nav.downloads ul { padding-left: 18px; margin: 4px 0; }
footer { margin-top: 16px; padding-top: 8px; border-top: 1px solid var(--line);
         font-size: 12px; color: var(--muted); }
footer code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
                     font-size: 12px; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  .grid, .two { grid-template-columns: 1fr; }
  .sheet { padding: 18px; }
}
@page { size: A4; margin: 12mm; }
@media print {
  html, body { background: #fff; padding: 0; font-size: 11px; line-height: 1.35; }
  .sheet { border: none; box-shadow: none; max-width: none; padding: 0; }
  nav.downloads { display: none; }
  h1 { font-size: 21px; }
  h2 { font-size: 13px; margin: 8px 0 3px; }
  th, td { padding: 2px 6px; }
  .lbl-second { display: inline; font-size: 10px; margin-left: .5em; }
  .verdict { margin: 10px 0 2px; padding: 8px 12px; }
  .verdict .word { font-size: 22px; }
  .total { font-size: 14px; }
  .grid { grid-template-columns: 1fr 140px; gap: 14px; }
  .qr svg { width: 130px; height: 130px; }
  .two { gap: 14px; }
  .two table { font-size: 10px; }
  td.num, th.num { white-space: nowrap; }
  .mono, footer code { font-size: .9em; }
  .revocation { padding: 2px 10px; }
  footer { margin-top: 8px; font-size: 9.5px; }
  footer p { margin: 2px 0; }
  table, .verdict, .revocation { break-inside: avoid; page-break-inside: avoid; }
}
""".replace("__FONTS__", FONTS)


@dataclass(frozen=True)
class CertificateView:
    """What the page shows, already taken from the ledger (strings and integers only)."""

    certificate_number: str
    state: State
    reason: str  # the verdict's one-line reason (English, from the verifier)
    volunteer_number: str
    period_from: str
    period_to: str
    approved_minutes: int
    issued_at: str
    issuer_name: str
    issuer_org: str
    issuer_contact: str
    page_url: str
    masked_name: str | None = None
    personal_data_erased: bool = False
    record_count: int = 0
    minutes_by_field: Sequence[tuple[str, int]] = ()
    minutes_by_org: Sequence[tuple[str, str, int]] = ()  # (org id, org name, minutes)
    revoked_at: str | None = None
    revoked_reason: str | None = None
    checkpoint: int | None = None
    log_origin: str = ""
    language: str = "zh"  # the certificate's own language: first on the page unless asked
    qr_svg: str = ""  # trusted markup made by segno from the page URL
    links: dict[str, str] = field(default_factory=dict)  # package, credential, receipt, status


class _Bilingual:
    """Renders a pair of texts in the page's order: the first language, then the other."""

    def __init__(self, english_first: bool) -> None:
        self.english_first = english_first

    def pair(self, zh: str, en: str, *, sep: str = " / ") -> str:
        a = f'<span lang="zh-CN">{escape(zh)}</span>'
        b = f'<span lang="en">{escape(en)}</span>'
        first, second = (b, a) if self.english_first else (a, b)
        return f'{first}<span class="sep">{escape(sep)}</span>{second}'

    def label(self, zh: str, en: str) -> str:
        """A table label: the first language, the second below it, smaller."""
        a = f'<span lang="zh-CN">{escape(zh)}</span>'
        b = f'<span lang="en">{escape(en)}</span>'
        first, second = (b, a) if self.english_first else (a, b)
        return f'{first}<span class="lbl-second">{second}</span>'

    def heading(self, zh: str, en: str) -> str:
        """A title: the first language large, the other on a line below it."""
        a, b = ("zh-CN", escape(zh)), ("en", escape(en))
        (l1, t1), (l2, t2) = (b, a) if self.english_first else (a, b)
        return f'<span lang="{l1}">{t1}</span> <span lang="{l2}" class="second">{t2}</span>'

    def blocks(self, zh: str, en: str, tag: str = "p", cls: str = "") -> str:
        """Two paragraphs (already-escaped markup allowed), in order."""
        attr = f' class="{cls}"' if cls else ""
        a = f'<{tag} lang="zh-CN"{attr}>{zh}</{tag}>'
        b = f'<{tag} lang="en"{attr}>{en}</{tag}>'
        return (b + a) if self.english_first else (a + b)


def duration(minutes: int) -> tuple[str, str]:
    """Minutes as (Chinese, English) hours and minutes: ``3 小时 35 分钟``, ``3 h 35 min``."""
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} 小时 {rest} 分钟", f"{hours} h {rest} min"


def day(timestamp: str) -> tuple[str, str]:
    """An RFC 3339 timestamp's date (UTC) as (``2025年3月7日``, ``2025-03-07``)."""
    text = timestamp[:10]
    try:
        year, month, dd = (int(part) for part in text.split("-"))
    except ValueError:
        return timestamp, timestamp
    return f"{year}年{month}月{dd}日", text


def moment(timestamp: str) -> str:
    """An RFC 3339 UTC timestamp to the minute: ``2025-03-07 09:30 UTC``."""
    if len(timestamp) >= 16 and timestamp[10] == "T":
        return f"{timestamp[:10]} {timestamp[11:16]} UTC"
    return timestamp


def field_names(service_field: str) -> tuple[str, str]:
    english = service_field.replace("-", " ").capitalize()
    return FIELD_NAMES_ZH.get(service_field, service_field), english


def _page(title: str, body: str, english_first: bool) -> str:
    lang = "en" if english_first else "zh-CN"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f'<body>\n<main class="sheet">\n{body}\n</main>\n</body>\n</html>\n'
    )


def _verdict(view: CertificateView, t: _Bilingual) -> str:
    if view.state == "valid":
        word = t.pair("有效", "VALID", sep="  ")
        zh = "本证明由签发单位以数字签名签发，已记入公开账本日志" + (
            f"，截至日志检查点 {view.checkpoint} 未被撤销。" if view.checkpoint else "。"
        )
        en = "Signed by the issuing organisation and recorded in the public ledger log" + (
            f"; not revoked as of log checkpoint {view.checkpoint}." if view.checkpoint else "."
        )
        text = t.blocks(escape(zh), escape(en), cls="why")
    elif view.state == "revoked":
        word = t.pair("已撤销", "REVOKED", sep="  ")
        when = escape(moment(view.revoked_at or ""))
        reason = escape(view.revoked_reason or "")
        text = t.blocks(
            f"本证明已于 {when} 被撤销，不再有效。撤销原因：<q>{reason}</q>",
            f"This certificate was revoked on {when} and is no longer valid. "
            f"Reason: <q>{reason}</q>",
            cls="why",
        )
    else:
        word = t.pair("无效", "INVALID", sep="  ")
        reason = escape(view.reason)
        text = t.blocks(
            f"本证明未通过核验，请勿采信。原因（英文）：{reason}",
            f"This certificate failed verification; do not rely on it. Reason: {reason}",
            cls="why",
        )
    return (
        f'<section class="verdict {view.state}" id="verdict" role="status" '
        f'data-state="{view.state}">\n<p class="word">{word}</p>\n{text}\n</section>'
    )


def _facts(view: CertificateView, t: _Bilingual) -> str:
    total_zh, total_en = duration(view.approved_minutes)
    issued_zh, issued_en = day(view.issued_at)
    rows: list[tuple[str, str]] = [
        (
            t.label("证书编号", "Certificate number"),
            f'<span class="mono">{escape(view.certificate_number)}</span>',
        ),
        (
            t.label("志愿者编号", "Volunteer number"),
            f'<span class="mono">{escape(view.volunteer_number)}</span>',
        ),
    ]
    if view.masked_name:
        rows.append((t.label("姓名", "Name"), escape(view.masked_name)))
    elif view.personal_data_erased:
        erased = t.pair("个人信息已删除", "The personal data was erased")
        rows.append((t.label("姓名", "Name"), f'<span id="personal-data-erased">{erased}</span>'))
    rows += [
        (
            t.label("服务期间", "Service period"),
            f"{escape(view.period_from)} — {escape(view.period_to)}",
        ),
        (
            t.label("服务时长合计", "Total service time"),
            f'<span class="total">{t.pair(total_zh, total_en)}</span>',
        ),
        (t.label("服务记录条数", "Service records"), escape(str(view.record_count))),
        (t.label("签发日期", "Date of issue"), t.pair(issued_zh, issued_en)),
        (t.label("签发单位", "Issued by"), escape(view.issuer_name)),
        (t.label("联系方式", "Issuer contact"), escape(view.issuer_contact)),
    ]
    body = "\n".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    return f'<table class="facts" id="facts">\n{body}\n</table>'


def _breakdown(view: CertificateView, t: _Bilingual) -> str:
    def table(table_id: str, head: str, rows: list[tuple[str, int]]) -> str:
        lines = [
            f'<tr><td>{name}</td><td class="num">{t.pair(*duration(minutes))}</td></tr>'
            for name, minutes in rows
        ]
        if not lines:
            lines = [f'<tr><td colspan="2">{t.pair("无", "none")}</td></tr>']
        return (
            f'<table id="{table_id}"><tr><th>{head}</th>'
            f'<th class="num">{t.pair("时长", "Time")}</th></tr>\n' + "\n".join(lines) + "</table>"
        )

    fields = [(t.pair(*field_names(f)), m) for f, m in view.minutes_by_field]
    orgs = [
        (f'{escape(name)} <span class="mono sep">({escape(org)})</span>', m)
        for org, name, m in view.minutes_by_org
    ]
    return (
        '<div class="two">\n<section>\n'
        f"<h2>{t.pair('按服务领域', 'By service field')}</h2>\n"
        + table("by-field", t.pair("服务领域", "Field"), fields)
        + "\n</section>\n<section>\n"
        f"<h2>{t.pair('按记录单位', 'By recording organisation')}</h2>\n"
        + table("by-organisation", t.pair("记录单位", "Organisation"), orgs)
        + "\n</section>\n</div>"
    )


def _revocation(view: CertificateView, t: _Bilingual) -> str:
    if view.state != "revoked":
        return ""
    rows = [
        (t.label("撤销时间", "Revoked on"), escape(moment(view.revoked_at or ""))),
        (t.label("撤销原因", "Reason"), escape(view.revoked_reason or "")),
    ]
    body = "\n".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    return (
        f'<section class="revocation" id="revocation">\n'
        f"<h2>{t.pair('撤销', 'Revocation')}</h2>\n<table>\n{body}\n</table>\n</section>"
    )


def _downloads(view: CertificateView, t: _Bilingual) -> str:
    names = {
        "package": ("离线核验包（JSON）", "Offline verification package (JSON)"),
        "credential": ("可验证凭证（W3C VC 2.0）", "Verifiable credential (W3C VC 2.0)"),
        "receipt": ("签发记录的日志收据（tlog-proof）", "Log receipt of the issuance (tlog-proof)"),
        "status": ("日志签名的状态声明", "Log-signed status statement"),
    }
    items = [
        f'<li><a href="{escape(href)}" id="download-{escape(kind)}" download>'
        f"{t.pair(*names[kind])}</a></li>"
        for kind, href in view.links.items()
        if kind in names
    ]
    return (
        f'<nav class="downloads" id="downloads">\n<h2>{t.pair("下载与离线核验", "Downloads")}'
        f"</h2>\n<ul>\n" + "\n".join(items) + "\n</ul>\n</nav>"
    )


def render_certificate_page(view: CertificateView, *, english_first: bool = False) -> str:
    t = _Bilingual(english_first)
    title = (
        f"Certificate of volunteer service {view.certificate_number} / 志愿服务证明"
        if english_first
        else f"志愿服务证明 {view.certificate_number} / Certificate of volunteer service"
    )
    heading = t.heading("志愿服务证明", "Certificate of volunteer service")
    qr = (
        f'<aside class="qr" id="qr">{view.qr_svg}'
        f"<div>{t.pair('扫码核验', 'Scan to verify')}</div>"
        f'<div class="url">{escape(view.page_url)}</div></aside>'
    )
    footer = t.blocks(
        "本页的核验结果由服务器用账本自己的日志公钥计算得出。任何人都可以下载离线核验包，"
        "用日志公钥和任何支持 eddsa-jcs-2022 的验证工具自行核验（例如 "
        "<code>ledger verify 包文件 --key 日志公钥</code>）。",
        "The verdict on this page was computed by the server with the ledger's own log key. "
        "Anyone can download the offline package and check it with the log's verifier key and "
        "any eddsa-jcs-2022 verifier (for example <code>ledger verify FILE --key LOG_KEY</code>)"
        ".",
    )
    technical = escape(view.reason)
    origin = escape(view.log_origin)
    body = "\n".join(
        [
            "<header>",
            f"<h1>{heading}</h1>",
            f'<div class="certno">{t.pair("编号", "No.")}'
            f"<strong>{escape(view.certificate_number)}</strong></div>",
            "</header>",
            _verdict(view, t),
            '<div class="grid">',
            "<section>",
            f"<h2>{t.pair('证明内容', 'What it certifies')}</h2>",
            _facts(view, t),
            "</section>",
            qr,
            "</div>",
            _breakdown(view, t),
            _revocation(view, t),
            _downloads(view, t),
            "<footer>",
            footer,
            f'<p class="mono" id="verifier-line">{origin} — {technical}</p>',
            "</footer>",
        ]
    )
    return _page(title, body, english_first)


def render_not_found(certificate_number: str, *, english_first: bool = False) -> str:
    t = _Bilingual(english_first)
    number = escape(certificate_number)
    body = "\n".join(
        [
            "<header>",
            f"<h1>{t.pair('未找到该证明', 'Certificate not found')}</h1>",
            "</header>",
            '<section class="verdict invalid" id="verdict" role="status" data-state="not-found">',
            f'<p class="word">{t.pair("未找到", "NOT FOUND", sep="  ")}</p>',
            t.blocks(
                f'本账本中没有编号为 <strong class="mono">{number}</strong> 的志愿服务证明。'
                "请核对编号（区分大小写），或向出示证明的人询问。",
                f"This ledger holds no certificate of volunteer service numbered "
                f'<strong class="mono">{number}</strong>. Check the number (it is case-'
                "sensitive) or ask the person who showed it to you.",
            ),
            "</section>",
        ]
    )
    pair = ("未找到证明", "Certificate not found")
    title = " / ".join(reversed(pair) if english_first else pair)
    return _page(title, body, english_first)
