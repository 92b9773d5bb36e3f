"""Error-model rows for the e-mail and webhook channels, and e-mail rendering."""

from __future__ import annotations

import pytest

from pushwise.domain.email_errors import SmtpStage, classify_smtp_reply
from pushwise.domain.email_message import EmailEnvelope, render_email, subject_of
from pushwise.domain.notification import Content
from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.webhook_errors import classify_webhook
from pushwise.simulators.smtp.faults import FaultConfigError, parse_faults


@pytest.mark.parametrize(
    ("code", "stage", "kind", "reason"),
    [
        (421, SmtpStage.CONNECT, OutcomeKind.RETRY, "Smtp421"),
        (450, SmtpStage.RECIPIENT, OutcomeKind.RETRY, "Smtp450"),
        (451, SmtpStage.DATA, OutcomeKind.RETRY, "Smtp451"),
        (550, SmtpStage.RECIPIENT, OutcomeKind.TOKEN_DEAD, "MailboxUnavailable"),
        (551, SmtpStage.RECIPIENT, OutcomeKind.TOKEN_DEAD, "MailboxUnavailable"),
        (553, SmtpStage.RECIPIENT, OutcomeKind.TOKEN_DEAD, "MailboxUnavailable"),
        (550, SmtpStage.DATA, OutcomeKind.PERMANENT, "Smtp550"),  # content refused, not the mailbox
        (552, SmtpStage.RECIPIENT, OutcomeKind.PERMANENT, "Smtp552"),
        (554, SmtpStage.DATA, OutcomeKind.PERMANENT, "Smtp554"),
        (553, SmtpStage.SENDER, OutcomeKind.PERMANENT, "Smtp553"),
        (535, SmtpStage.AUTH, OutcomeKind.CONFIGURATION, "SmtpAuthFailed"),
        (454, SmtpStage.AUTH, OutcomeKind.RETRY, "Smtp454"),
    ],
)
def test_smtp_replies(code: int, stage: SmtpStage, kind: OutcomeKind, reason: str) -> None:
    outcome = classify_smtp_reply(code, "text", stage)
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (kind, reason, code)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, OutcomeKind.DELIVERED),
        (204, OutcomeKind.DELIVERED),
        (410, OutcomeKind.TOKEN_DEAD),
        (408, OutcomeKind.RETRY),
        (429, OutcomeKind.RETRY),
        (500, OutcomeKind.RETRY),
        (503, OutcomeKind.RETRY),
        (301, OutcomeKind.PERMANENT),
        (400, OutcomeKind.PERMANENT),
        (401, OutcomeKind.PERMANENT),
        (404, OutcomeKind.PERMANENT),
        (413, OutcomeKind.PERMANENT),
    ],
)
def test_webhook_answers(status: int, kind: OutcomeKind) -> None:
    outcome = classify_webhook(status, 5.0)
    assert outcome.kind is kind
    assert outcome.retry_after == (5.0 if kind is OutcomeKind.RETRY else None)


def test_email_escapes_html_and_drops_script_links() -> None:
    content = Content(
        title="<b>Sale</b>", body="a & b", url="javascript:alert(1)", image="https://i.test/x.png"
    )
    envelope = EmailEnvelope(
        "Shop <news@shop.test>", "ada@x.test", "https://pw.test/v1/unsubscribe/t", 0, "n.1"
    )
    message = render_email(content, envelope)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;b&gt;Sale&lt;/b&gt;" in html
    assert "a &amp; b" in html
    assert "javascript:" not in html
    assert 'src="https://i.test/x.png"' in html
    assert "<b>Sale</b>" in text
    assert (
        message["List-Unsubscribe"]
        == "<https://pw.test/v1/unsubscribe/t>, <mailto:news@shop.test?subject=unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_subject_is_one_line() -> None:
    assert subject_of(Content(title="Two\nlines")) == "Two lines"
    assert subject_of(Content(body="only body")) == "only body"


def test_smtp_fault_config_is_validated() -> None:
    assert parse_faults({"codes": {"550": 0.5}}).codes == ((550, 0.5),)
    for bad in ({"codes": {"200": 1}}, {"codes": {"450": 0.7, "550": 0.7}}, {"typo": 1}, {"auth_failure": 2}):
        with pytest.raises(FaultConfigError):
            parse_faults(bad)
