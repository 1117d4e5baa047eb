"""The Account page and allauth's pages, in our layout."""

import pytest

from accounts.models import User


def test_the_account_page_links_every_account_task(alice_client):
    page = alice_client.get("/accounts/settings/").content.decode()

    for url in ("/accounts/password/change/", "/accounts/email/", "/accounts/sessions/", "/accounts/delete/"):
        assert f'href="{url}"' in page
    assert "alice@example.com" in page


def test_the_navigation_links_the_account_page(alice_client):
    assert 'href="/accounts/settings/"' in alice_client.get("/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/accounts/settings/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/settings/"


def test_the_display_name_is_saved_with_htmx_as_a_fragment(alice_client, alice):
    response = alice_client.post("/accounts/settings/", {"display_name": "  Ali  "}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="profile"')
    assert "<html" not in html and "Saved" in html
    assert User.objects.get(pk=alice.pk).display_name == "Ali"


def test_the_display_name_is_saved_without_javascript_too(alice_client, alice):
    response = alice_client.post("/accounts/settings/", {"display_name": "Ali"})

    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).display_name == "Ali"


def test_a_display_name_is_escaped(alice_client, alice):
    alice.display_name = "<img src=x onerror=alert(1)>"
    alice.save()

    page = alice_client.get("/accounts/settings/").content.decode()

    assert "&lt;img src=x" in page and "<img src=x" not in page


def test_bob_edits_only_his_own_profile(bob_client, alice, bob):
    bob_client.post("/accounts/settings/", {"display_name": "Bobby"})

    assert User.objects.get(pk=alice.pk).display_name == "Alice"
    assert User.objects.get(pk=bob.pk).display_name == "Bobby"


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_allauth_entrance_pages_use_our_layout(client, db, url):
    page = client.get(url).content.decode()

    assert 'class="brand"' in page and "/static/css/app.css" in page
    assert "container-narrow" in page and 'class="card form' in page
    assert "Menu:" not in page  # allauth's own unstyled layout


@pytest.mark.parametrize("url", ["/accounts/password/change/", "/accounts/email/", "/accounts/sessions/"])
def test_allauth_account_pages_use_our_layout_and_lead_back(alice_client, url):
    page = alice_client.get(url).content.decode()

    assert 'class="brand"' in page and 'href="/accounts/settings/"' in page
    assert "Menu:" not in page
