#!/usr/bin/env python3
"""A tiny HTTP server for the integration tests (python3 stdlib only, 127.0.0.1 only).

  probe_server.py --log FILE --port-file FILE [--journal-glob GLOB]

Binds a free port on 127.0.0.1 and writes it to --port-file once it listens. Every request is
logged as one line to --log, flushed before the answer is sent:

  GET /p1?step=svc/failover/p1 intents=1

Query parameters a request may carry:
  delay=SECONDS   wait this long before answering (after logging)
  status=CODE     answer with this status instead of 200
  step=STEP-ID    with --journal-glob: count the `step.intent` lines of STEP-ID in the journals
                  matching GLOB at the moment the request arrives, and log it as intents=N. A test
                  uses it to show that each request's intent was on disk before the request left.

The answer body is "ok\n" (or "status CODE\n").
"""
import argparse
import glob
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def count_intents(pattern, step):
    needle = ('"type":"step.intent","step":"%s"' % step).encode()
    n = 0
    for path in glob.glob(pattern):
        try:
            with open(path, "rb") as f:
                for line in f:
                    if needle in line:
                        n += 1
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--journal-glob")
    args = ap.parse_args()
    log_lock = threading.Lock()
    log = open(args.log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            line = "%s %s" % (self.command, self.path)
            if args.journal_glob and "step" in q:
                line += " intents=%d" % count_intents(args.journal_glob, q["step"])
            with log_lock:
                log.write(line + "\n")
                log.flush()
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            delay = float(q.get("delay", "0") or 0)
            if delay > 0:
                time.sleep(delay)
            status = int(q.get("status", "200"))
            body = b"ok\n" if status == 200 else ("status %d\n" % status).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = handle_one

        def log_message(self, *a):  # quiet: the log file is the record
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)  # atomic: a reader never sees half a port
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
