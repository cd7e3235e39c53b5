#!/usr/bin/env python3
"""A site's backend for dialerd's callback widget (docs/widget.md).

The browser never holds the site's secret: the widget posts the visitor's
name, phone and fields to this backend (same origin as the page), which
builds dialerd's request, signs it with the secret and forwards it, then
relays dialerd's reply (the request's id and status token, or the JSON
error naming the field) back to the widget.

    GET  /          a demo page with the widget's script tag
    POST /callback  {"name", "phone", "fields": {...}, "page", "at"?}
                    -> dialerd's status and JSON, as they are

Python 3 standard library only. Configuration from the command line or
the environment (the secret is best left to the environment):

    DIALERD_URL         dialerd's URL as this backend reaches it (http://127.0.0.1:8080)
    DIALERD_PUBLIC_URL  dialerd's URL as browsers reach it (default: DIALERD_URL)
    SITE_KEY            the site's key in [[click_to_call.sites]]
    SITE_SECRET         one of the site's secrets
    AGENT_GROUP         the agent group to ring (sales)
    HOST, PORT          where to listen (127.0.0.1, 8081; 0 picks a free port)
"""

import argparse
import hashlib
import hmac
import html
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024
MAX_FIELDS = 20


def sign(secret: bytes, t: int, nonce: str, body: bytes) -> str:
    """The Dialerd-Request-Signature value, as sign() in src/clicktocall/signature.rs."""
    tag = hmac.new(secret, f"{t}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},n={nonce},v1={tag}"


def error(field, message):
    return {"error": {"field": field, "message": message}}


def dialerd_body(req: dict, group: str):
    """Checks the widget's JSON lightly (dialerd checks the rest and names
    the field) and builds dialerd's body; (body, None) or (None, error)."""
    if not isinstance(req, dict):
        return None, error(None, "the body must be a JSON object")
    name, phone = req.get("name"), req.get("phone")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        return None, error("name", "give a name of 1 to 100 characters")
    if not isinstance(phone, str) or not phone.strip() or len(phone) > 40:
        return None, error("phone", "give a phone number")
    visitor = {"name": name.strip()}
    page = req.get("page")
    if isinstance(page, str) and page:
        visitor["page"] = page[:200]
    fields = req.get("fields") or {}
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
        return None, error("fields", f"an object of at most {MAX_FIELDS} text fields")
    for key, value in fields.items():
        if key in ("name", "phone", "page") or not isinstance(value, str) or len(value) > 200:
            return None, error(f"fields.{key}", "text of at most 200 characters")
        visitor[key] = value
    body = {"phone": phone.strip(), "agent_group": group, "visitor": visitor}
    at = req.get("at")
    if at is not None:
        if not isinstance(at, str):
            return None, error("at", "an RFC 3339 time")
        body["at"] = at
    return body, None


DEMO = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<h1>Demo shop</h1>
<p>This page embeds dialerd's callback widget: the button at the bottom right.</p>
<script src="{dialerd}/widget.js" data-site="{site}" data-endpoint="/callback" async></script>
</html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "widget-backend"
    cfg = None  # set by main()

    def reply(self, status: int, body: bytes, content_type: str):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def json(self, status: int, value):
        self.reply(status, json.dumps(value).encode(), "application/json")

    def do_GET(self):
        if self.path.split("?")[0] != "/":
            return self.json(404, error("path", "no such page"))
        c = self.cfg
        page = DEMO.format(dialerd=html.escape(c.public_url, quote=True), site=html.escape(c.site, quote=True))
        self.reply(200, page.encode(), "text/html; charset=utf-8")

    def do_POST(self):
        if self.path != "/callback":
            return self.json(404, error("path", "no such route"))
        # JSON only: a cross-site HTML form cannot send it without a CORS
        # preflight this server never answers, so other sites cannot make
        # visitors' browsers ask for calls.
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return self.json(415, error("content-type", "send application/json"))
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.json(413, error(None, "the body is too large"))
        try:
            req = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return self.json(400, error(None, "the body is not JSON"))
        body, bad = dialerd_body(req, self.cfg.group)
        if bad:
            return self.json(400, bad)
        self.forward(json.dumps(body, separators=(",", ":")).encode())

    def forward(self, body: bytes):
        c = self.cfg
        # The signature covers these exact bytes: send them unchanged.
        header = sign(c.secret.encode(), int(time.time()), secrets.token_urlsafe(24), body)
        req = urllib.request.Request(
            c.dialerd_url + "/v1/click-to-call",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Dialerd-Site": c.site, "Dialerd-Request-Signature": header},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, answer = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read()
        except OSError as e:
            sys.stderr.write(f"widget-backend: dialerd unreachable: {e}\n")
            return self.json(502, error(None, "the callback service is unreachable"))
        if status == 401:
            # The visitor can do nothing about our signature: log it for
            # the site's operator, tell them it failed.
            sys.stderr.write(f"widget-backend: dialerd refused the signature: {answer[:300]!r}\n")
            return self.json(502, error(None, "the callback service refused this site's request"))
        self.reply(status, answer, "application/json")

    def log_message(self, fmt, *args):
        # Request lines only: bodies hold names and numbers.
        sys.stderr.write("widget-backend: %s\n" % (fmt % args))


def main():
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dialerd", default=env("DIALERD_URL", "http://127.0.0.1:8080"), dest="dialerd_url")
    p.add_argument("--public-dialerd", default=env("DIALERD_PUBLIC_URL"), dest="public_url")
    p.add_argument("--site", default=env("SITE_KEY", "shop"))
    p.add_argument("--secret", default=env("SITE_SECRET"))
    p.add_argument("--group", default=env("AGENT_GROUP", "sales"))
    p.add_argument("--host", default=env("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("PORT", "8081")))
    cfg = p.parse_args()
    if not cfg.secret:
        p.error("the site's secret is required: SITE_SECRET or --secret")
    cfg.dialerd_url = cfg.dialerd_url.rstrip("/")
    cfg.public_url = (cfg.public_url or cfg.dialerd_url).rstrip("/")
    Handler.cfg = cfg
    server = ThreadingHTTPServer((cfg.host, cfg.port), Handler)
    host, port = server.server_address[:2]
    print(f"widget-backend listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
