"""Deployment hardening: `check --deploy` passes with docker-compose's production settings, and the
headers are on the responses (CSP, X-Frame-Options, HSTS behind a TLS proxy, no-store on the API,
Secure cookies), and /api/docs serves Swagger UI from the platform itself."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import Client

from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def compose_environment(tmp_path) -> dict[str, str]:
    """The web service's environment as docker compose would give it, with .env left at its defaults."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = {}
    for name, value in spec["services"]["web"]["environment"].items():
        value = re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", str(value))
        env[name] = value
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # compose requires one from .env
    env["SAFESORA_DATA_DIR"] = str(tmp_path)  # /data in the container
    assert not any("${" in value for value in env.values()), env
    return env


def test_check_deploy_passes_with_the_compose_settings(tmp_path):
    env = compose_environment(tmp_path)
    assert env["SECURE_SSL_REDIRECT"] == "true" and "DEBUG" not in env
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_pages_carry_a_content_security_policy_without_inline_scripts(client):
    response = client.get("/accounts/login/")
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"


def test_the_policy_built_once_is_django_csps_and_follows_the_settings(client, settings):
    from csp.middleware import CSPMiddleware as Upstream
    from django.http import HttpResponse
    from django.test import RequestFactory

    request, plain = RequestFactory().get("/accounts/login/"), HttpResponse()
    Upstream(lambda r: plain).process_request(request)
    expected = Upstream(lambda r: plain).process_response(request, plain)["Content-Security-Policy"]
    assert client.get("/accounts/login/")["Content-Security-Policy"] == expected
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert client.get("/accounts/login/")["Content-Security-Policy"] == "default-src 'none'"


def test_no_template_has_an_inline_script_or_event_handler():
    templates = [p for p in ROOT.glob("**/templates/**/*.html") if ".venv" not in p.parts]
    assert templates
    for path in templates:
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script in {path}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {path}"


def test_session_and_csrf_cookies_are_secure_when_debug_is_off(client, settings):
    assert not settings.DEBUG
    make_user("ivan", password="right-password-10")
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "ivan", "password": "right-password-10"})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] and response.cookies["sessionid"]["httponly"]
    assert client.cookies["csrftoken"]["secure"]


def test_hsts_and_redirect_behind_a_tls_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    client = Client()
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_api_answers_are_not_stored_by_any_cache(crowdworker):
    client = Client()
    client.force_login(crowdworker)
    for response in (client.get("/api/annotation/history"), Client().get("/api/annotation/history"),
                     client.get("/api/openapi.json")):
        assert "no-store" in response["Cache-Control"], response.status_code


def test_api_docs_use_only_the_platforms_own_files(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset  # same origin: no CDN
        assert client.get(asset).status_code == 200
