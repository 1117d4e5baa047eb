"""Account mails come as plain text and HTML, with our name on them."""

from django.core import mail

from accounts.tests.flows import CODE_RE, enter_password


def test_the_signup_code_mail_has_text_and_html(client, db):
    client.post(
        "/accounts/signup/",
        {"email": "ivy@example.com", "password1": "ivy-secret-phrase-42", "password2": "ivy-secret-phrase-42"},
    )

    message = mail.outbox[-1]
    html, mimetype = message.alternatives[0]
    code = CODE_RE.search(message.body).group(1)
    assert message.subject.startswith("[SmartGallery] ")
    assert mimetype == "text/html"
    assert "SmartGallery" in message.body and "SmartGallery" in html
    assert code in html


def test_the_sign_in_code_mail_has_text_and_html(client, carol):
    enter_password(client, carol.email, "carol-password-5678")

    message = mail.outbox[-1]
    html, _ = message.alternatives[0]
    assert message.to == [carol.email]
    assert "sign-in code" in message.body
    assert CODE_RE.search(message.body).group(1) in html
    assert "{{" not in message.body and "{{" not in html
