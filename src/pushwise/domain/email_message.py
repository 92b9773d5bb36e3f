"""Render a notification as an e-mail: text and HTML parts, RFC 8058 one-click unsubscribe.

Templates run in Jinja2's `SandboxedEnvironment` so that, once apps supply their
own templates, a template cannot reach Python internals; the HTML environment
autoescapes, so a title like `<script>` arrives as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import quote

from jinja2.sandbox import SandboxedEnvironment

from pushwise.domain.notification import Content

_TEXT_TEMPLATE = """\
{% if content.title %}{{ content.title }}

{% endif %}{% if content.body %}{{ content.body }}
{% endif %}{% if content.url %}
{{ link or content.url }}
{% endif %}
--
Unsubscribe: {{ unsubscribe_url }}
"""

_HTML_TEMPLATE = """\
<!doctype html>
<html><body>
{% if content.title %}<h1>{{ content.title }}</h1>{% endif %}
{% if content.body %}<p>{{ content.body }}</p>{% endif %}
{% if content.image %}<p><img src="{{ content.image }}" alt=""></p>{% endif %}
{% if content.url %}<p><a href="{{ link or content.url }}">{{ content.url }}</a></p>{% endif %}
<p style="font-size:small"><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>
"""

_TEXT_FOOTER_TEMPLATE = """
--
Unsubscribe: {{ unsubscribe_url }}
"""
_HTML_FOOTER_TEMPLATE = """<p style="font-size:small"><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"""

_text_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_html_env = SandboxedEnvironment(autoescape=True)
_TEXT = _text_env.from_string(_TEXT_TEMPLATE)
_HTML = _html_env.from_string(_HTML_TEMPLATE)
_TEXT_FOOTER = _text_env.from_string(_TEXT_FOOTER_TEMPLATE)
_HTML_FOOTER = _html_env.from_string(_HTML_FOOTER_TEMPLATE)
_SUBJECT_LIMIT = 200


@dataclass(frozen=True, slots=True)
class EmailEnvelope:
    sender: str
    recipient: str
    unsubscribe_url: str
    sent_at: float
    delivery_ref: str  # goes into Message-ID and a trace header
    link: str | None = None  # the content's url through the click redirect, where clicks are counted


def _safe_url(url: str | None) -> str | None:
    """Only web links in HTML: a `javascript:` URL in an href is code, even when escaped."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def subject_of(content: Content) -> str:
    subject = " ".join((content.title or content.body or "Notification").split())
    return subject[:_SUBJECT_LIMIT]


def render_email(
    content: Content, envelope: EmailEnvelope, parts: Mapping[str, str] | None = None
) -> EmailMessage:
    """The message; `parts` (a template's `subject`, `text`, `html`) replace the built-in layout,
    each body still ending with the unsubscribe link."""
    safe = Content(
        title=content.title,
        body=content.body,
        url=_safe_url(content.url),
        image=_safe_url(content.image),
    )
    message = EmailMessage()
    message["From"] = envelope.sender
    message["To"] = envelope.recipient
    parts = parts or {}
    message["Subject"] = (
        " ".join(parts["subject"].split())[:_SUBJECT_LIMIT] if parts.get("subject") else subject_of(content)
    )
    message["Date"] = format_datetime(datetime.fromtimestamp(envelope.sent_at, UTC))
    sender_address = parseaddr(envelope.sender)[1]
    domain = sender_address.rpartition("@")[2] or "pushwise.invalid"
    message["Message-ID"] = make_msgid(idstring=envelope.delivery_ref, domain=domain)
    message["X-Pushwise-Delivery"] = envelope.delivery_ref
    mailto = f"mailto:{sender_address}?subject={quote('unsubscribe')}"
    message["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>, <{mailto}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    link = envelope.link if safe.url else None
    context = {"content": safe, "unsubscribe_url": envelope.unsubscribe_url, "link": link}
    text = parts.get("text")
    html = parts.get("html")
    message.set_content(_TEXT.render(context) if not text else text + _TEXT_FOOTER.render(context))
    message.add_alternative(
        _HTML.render(context) if not html else _with_footer(html, context), subtype="html"
    )
    return message


def _with_footer(html: str, context: Mapping[str, object]) -> str:
    footer = _HTML_FOOTER.render(context)
    closing = html.lower().rfind("</body>")
    return html[:closing] + footer + html[closing:] if closing >= 0 else html + footer
