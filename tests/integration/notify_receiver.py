#!/usr/bin/python3
"""Local receivers for tests/integration/notify.sh (the notifier's channels).

  notify_receiver.py http PORT OUT SECRET
      One HTTP server for the webhook (any path but the two below; the
      X-Signature-256 header is checked against HMAC-SHA256(body, SECRET)),
      ntfy (/ntfy/<topic>) and Telegram (/bot<token>/sendMessage, answers
      {"ok": true}). Every request is one JSON line in OUT:
      {"path", "kind", "sig_ok", "headers": {...}, "body": <JSON or text>}.
  notify_receiver.py smtp PORT OUT CERT KEY
      An SMTP server (python3-aiosmtpd) that requires STARTTLS with CERT/KEY;
      every message is one JSON line {"kind": "smtp", "from", "to", "data"}.
"""
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def record(out, obj):
    with LOCK, open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")
        f.flush()


def deliveries(path):
    """The webhook events recorded in path so far, a group's events one by
    one: (the alarm ids, the idempotency keys in arrival order, {alarm id:
    its set of keys}); all empty while path does not exist. Asserts that
    every request was signed. The tests' scripts import it (PYTHONPATH)."""
    got, seen, keys = set(), [], {}
    try:
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            assert r["sig_ok"], "bad signature"
            b = r["body"]
            for e in (b["events"] if b["event"] == "group" else [b]):
                got.add(e["alarm"]["id"])
                seen.append(e["idempotency_key"])
                keys.setdefault(e["alarm"]["id"], set()).add(e["idempotency_key"])
    except FileNotFoundError:
        pass
    return got, seen, keys


def http_main(port, out, secret):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(n)
            path = self.path
            if path.startswith("/ntfy/"):
                kind, body = "ntfy", raw.decode("utf-8", "replace")
            elif "/sendMessage" in path:
                kind, body = "telegram", json.loads(raw)
            else:
                kind, body = "webhook", json.loads(raw)
            want = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
            sig = self.headers.get("X-Signature-256")
            keep = ("X-Signature-256", "Idempotency-Key", "Title", "Priority", "Tags",
                    "X-Idempotency-Key", "Content-Type")
            record(out, {"path": path, "kind": kind, "recv_ms": time.time() * 1000,
                         "sig_ok": sig is not None and hmac.compare_digest(sig, want),
                         "headers": {k: self.headers.get(k) for k in keep if self.headers.get(k)},
                         "body": body})
            reply = json.dumps({"ok": True, "result": {"message_id": 1}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


def smtp_main(port, out, cert, key):
    import ssl
    import time

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            record(out, {"kind": "smtp", "from": envelope.mail_from, "to": envelope.rcpt_tos,
                         "tls": session.ssl is not None,
                         "data": envelope.content.decode("utf-8", "replace")})
            return "250 OK"

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx,
                   require_starttls=True)
    c.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    if sys.argv[1] == "http":
        http_main(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        smtp_main(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
