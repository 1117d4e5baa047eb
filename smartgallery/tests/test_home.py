def test_it_renders_the_home_page_for_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"The people in your photos" in response.content


def test_it_serves_htmx_from_our_own_static_files(client):
    body = client.get("/").content.decode()
    assert "/static/django_htmx/htmx" in body or "/static/" in body and "htmx" in body
    assert "unpkg.com" not in body and "cdn" not in body.lower()


def test_it_puts_the_csrf_token_in_htmx_headers(client):
    body = client.get("/").content.decode()
    assert 'hx-headers=\'{"x-csrftoken": "' in body


def test_it_shows_navigation_to_signed_in_users(alice_client):
    response = alice_client.get("/")
    assert response.status_code == 200
    assert b"Alice" in response.content
