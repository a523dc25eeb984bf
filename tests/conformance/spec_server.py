#!/usr/bin/env python3
"""An Azure Resource Manager stand-in driven only by Microsoft's OpenAPI specs and their examples.

  spec_server.py --specs DIR [--port-file FILE] [--polls N]

It is not edgedr's simulator and shares no code or knowledge with it: every rule it applies comes
from the OpenAPI 2.0 documents under DIR (trafficmanager/trafficmanager.json,
siterecovery/service.json, backup/bms.json, common-types/) and the x-ms-examples they reference.
edgedr is pointed at it with `--simulator http://127.0.0.1:PORT` (every ARM and token request is
routed here, the original URL in X-Edgedr-Sim-Original-Url). python3 stdlib only, 127.0.0.1 only;
the OpenAPI side (documents, validation) is in openapi.py beside it.

For each ARM request it
  - matches method + path against the specs' path templates (case-insensitive, like ARM);
  - checks api-version is the spec's (or the request follows, verbatim, a URL this server handed
    out in an Azure-AsyncOperation or Location header), Authorization: Bearer with a token this
    server issued, x-ms-client-request-id a UUID, Content-Type: application/json on bodies, no
    query parameter the operation does not declare, required header parameters present;
  - validates the JSON body against the operation's body parameter schema ($ref, allOf,
    discriminators with x-ms-discriminator-value, required, type, enum, format, min/max, length,
    readOnly, x-nullable, and no property the schema does not declare);
  - answers from the operation's example (the one whose parameters best match the request), or,
    on a violation, 400 with the ARM error shape {"error":{"code","message"}}.

Long-running operations: an operation marked x-ms-long-running-operation, or a 202 example that
carries Azure-AsyncOperation/Location headers, is answered 202 with those headers (the example's
URLs with a fresh operation id, or, when the example has none, URLs under the resource for the
headers the spec's 202 response declares) and Retry-After (the example's, else 30).

State, in the smallest generic way:
  - a PUT/PATCH body is remembered per resource path and laid over later GETs of it (JSON merge);
  - when an LRO's result is typed as the resource (x-ms-long-running-operation-options
    final-state-schema) and the operation has a 200 example, that body becomes the resource's
    state for later GETs of the resource (the POST path without its action segment);
  - a GET whose body has a status field (`status`, `properties.state` or `properties.status`)
    reads InProgress for the first N GETs of that path after the last write, then the example's
    value, or, when that is not terminal, the field's success value from the spec's enum
    (Succeeded, else Completed). Each such GET is logged as a poll, with the time since the
    previous poll of the same path (or since the write) and the Retry-After it should have
    waited.

The token endpoint (POST /{tenant}/oauth2/v2.0/token, client credentials) issues tokens.

Control endpoints (not logged):
  GET  /_conformance/log                 {"requests":[...], "violations":[...], "polls":[...]}
  PUT  /_conformance/state?path=PATH     body: a resource's state, served on GETs of PATH (tests
                                         use it for states no example shows)
"""
import argparse
import copy
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openapi import TERMINAL, UUID_RE, Operation, Spec, Validator, merge_patch, status_field, success_value  # noqa: E402

# Query parameters any ARM request may carry besides the declared ones.
ALWAYS_ALLOWED_QUERY = {"api-version"}
SPEC_FILES = ["trafficmanager/trafficmanager.json", "siterecovery/service.json", "backup/bms.json"]


class Server:
    def __init__(self, specs_dir, polls):
        self.specs = [Spec(specs_dir, rel) for rel in SPEC_FILES]
        self.ops = []
        for spec in self.specs:
            for template, item in spec.doc.get("paths", {}).items():
                shared = item.get("parameters", [])
                for method, op in item.items():
                    if method in ("get", "put", "post", "patch", "delete", "head"):
                        self.ops.append(Operation(spec, template, method, op, shared))
                        spec.operations.append(self.ops[-1])
        self.polls_before_done = polls
        self.lock = threading.Lock()
        self.requests = []
        self.violations = []
        self.polls = []
        self.tokens = set()
        self.state = {}  # lower-case resource path -> body laid over GETs
        self.handed_out = {}  # lower-case path?query of a handed-out URL -> {"url", "operation", "retry_after"}
        self.poll_counts = {}  # lower-case path -> GETs since the last write
        self.last_poll = {}  # lower-case path -> (time, retry_after)
        self.last_write = (time.monotonic(), 0)  # time of the last write and the Retry-After it sent
        self.t0 = time.monotonic()
        self.epoch = 0  # writes so far: a poll sequence is the GETs of one path between two writes

    def match(self, method, path):
        found = []
        for op in self.ops:
            if op.method != method:
                continue
            m = op.regex.match(path)
            if m:
                found.append((op.literals, op, dict(zip(op.names, m.groups()))))
        if not found:
            return None, None
        found.sort(key=lambda f: -f[0])
        return found[0][1], found[0][2]

    def now(self):
        return round(time.monotonic() - self.t0, 4)


class Handler(BaseHTTPRequestHandler):
    server_version = "spec-server/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the request log is ours, not stderr
        pass

    # ---- plumbing --------------------------------------------------------------------------

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body=None, headers=None):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def do_GET(self):
        self._handle("GET")

    def do_PUT(self):
        self._handle("PUT")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def _handle(self, method):
        srv = self.server.app
        raw_path, _, query = self.path.partition("?")
        path = urllib.parse.unquote(raw_path)
        body = self._body()
        if path.startswith("/_conformance/"):
            return self._control(method, path, query, body)
        with srv.lock:
            entry = {
                "time": srv.now(),
                "method": method,
                "path": path,
                "query": query,
                "original-url": self.headers.get("X-Edgedr-Sim-Original-Url", ""),
                "operation": "",
                "violations": [],
            }
            srv.requests.append(entry)
            if re.fullmatch(r"/[^/]+/oauth2(/v2\.0)?/token", path):
                status, answer, headers = self._token(srv, entry, method, body)
            else:
                status, answer, headers = self._arm(srv, entry, method, path, query, body)
            entry["status"] = status
            for v in entry["violations"]:
                srv.violations.append({"request": len(srv.requests) - 1, "method": method, "path": path,
                                       "operation": entry["operation"], "violation": v})
        self._send(status, answer, headers)

    def _control(self, method, path, query, body):
        srv = self.server.app
        with srv.lock:
            if method == "GET" and path == "/_conformance/log":
                return self._send(200, {"requests": srv.requests, "violations": srv.violations, "polls": srv.polls})
            if method == "PUT" and path == "/_conformance/state":
                target = urllib.parse.parse_qs(query).get("path", [""])[0]
                srv.state[target.lower()] = json.loads(body or b"{}")
                return self._send(204)
        self._send(404, {"error": {"code": "NotFound", "message": "no such control endpoint"}})

    # ---- the token endpoint ----------------------------------------------------------------

    def _token(self, srv, entry, method, body):
        entry["operation"] = "token"
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if method != "POST":
            entry["violations"].append("the token endpoint takes POST")
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            entry["violations"].append("token request without Content-Type application/x-www-form-urlencoded")
        if form.get("grant_type") != ["client_credentials"]:
            entry["violations"].append("token request grant_type is not client_credentials")
        if not form.get("client_id") or not (form.get("client_secret") or form.get("client_assertion")):
            entry["violations"].append("token request without client_id and a client_secret or client_assertion")
        if not form.get("scope", [""])[0].endswith("/.default"):
            entry["violations"].append("token request scope does not end in /.default")
        if entry["violations"]:
            return 400, {"error": "invalid_request", "error_description": "; ".join(entry["violations"])}, {}
        token = "spec-server-token-" + uuid.uuid4().hex
        srv.tokens.add(token)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}, {}

    # ---- ARM -------------------------------------------------------------------------------

    def _arm(self, srv, entry, method, path, query, body):
        v = entry["violations"]
        qs = urllib.parse.parse_qs(query, keep_blank_values=True)
        key = (path + "?" + query).lower()
        handed = srv.handed_out.get(key) if method == "GET" else None
        entry["followed"] = handed is not None

        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in srv.tokens:
            v.append("Authorization is not 'Bearer <a token this server issued>'")
        crid = self.headers.get("x-ms-client-request-id")
        if not crid or not UUID_RE.match(crid):
            v.append("x-ms-client-request-id is missing or not a UUID: %r" % crid)
        entry["client-request-id"] = crid or ""
        if handed is not None:
            original = self.headers.get("X-Edgedr-Sim-Original-Url", "")
            if original and original.lower() != handed["url"].lower():
                v.append("a handed-out URL was not followed verbatim: %s, sent %s" % (handed["url"], original))

        op, values = srv.match(method, path)
        if op is None and handed is not None:
            return self._monitor(srv, entry, handed)
        if op is None:
            entry["operation"] = ""
            v.append("no operation in the specs matches %s %s" % (method, path))
            return 404, arm_error("NoSpecOperation", "; ".join(v)), request_ids(self)
        entry["operation"] = op.id
        entry["spec"] = op.spec.name

        versions = qs.get("api-version", [])
        if handed is None:
            if versions != [op.spec.version]:
                v.append("api-version %s is not the spec's %s" % (versions or "missing", op.spec.version))
            declared = {p["name"] for p in op.param("query")} | ALWAYS_ALLOWED_QUERY
            for name in qs:
                if name not in declared:
                    v.append("query parameter %s is not declared by %s" % (name, op.id))
        for p in op.param("query"):
            if p.get("required") and p["name"] not in qs and not (handed and p["name"] == "api-version"):
                v.append("required query parameter %s is missing" % p["name"])
        for p in op.param("header"):
            if p.get("required") and self.headers.get(p["name"]) is None:
                v.append("required header %s is missing" % p["name"])
        for p in op.param("path"):
            val = values.get(p["name"], "")
            if "enum" in p and val not in p["enum"]:
                v.append("path parameter %s=%r is not one of %s" % (p["name"], val, ", ".join(p["enum"])))

        body_params = op.param("body")
        parsed = None
        if body:
            ctype = self.headers.get("Content-Type") or ""
            if not ctype.startswith("application/json"):
                v.append("a request body without Content-Type: application/json (%r)" % ctype)
            try:
                parsed = json.loads(body)
            except ValueError:
                v.append("the request body is not JSON")
            if not body_params:
                v.append("%s takes no request body, one was sent" % op.id)
            elif parsed is not None:
                errors = []
                validator = Validator(op.spec)
                validator.validate(parsed, body_params[0]["schema"], op.spec.path, "body", errors)
                v.extend(errors)
                entry["unchecked"] = validator.unchecked
        elif body_params and body_params[0].get("required"):
            v.append("%s requires a body (%s), none was sent" % (op.id, body_params[0]["name"]))
        if v:
            return 400, arm_error("InvalidRequestContent", "; ".join(v)), request_ids(self)
        return self._answer(srv, entry, op, values, method, path, parsed)

    def _answer(self, srv, entry, op, values, method, path, parsed):
        headers = request_ids(self)
        example = op.example_for(values)
        entry["example"] = example[0] if example else ""
        responses = example[1].get("responses", {}) if example else {}
        if method != "GET":
            srv.poll_counts.clear()
            srv.last_poll.clear()
            srv.epoch += 1
        if method in ("PUT", "PATCH") and parsed is not None:
            srv.state[path.lower()] = merge_patch(srv.state.get(path.lower(), {}), parsed)

        accepted = responses.get("202") or responses.get("201")
        async_headers = {k: val for k, val in ((accepted or {}).get("headers") or {}).items()
                         if k.lower() in ("azure-asyncoperation", "location")}
        if method != "GET" and (op.lro or async_headers):
            return self._start_operation(srv, entry, op, path, responses, accepted, async_headers, headers)

        code = "200" if "200" in responses else (sorted(responses)[0] if responses else None)
        if code is None:
            # No example for this operation in the snapshot: an empty success of the spec's first 2xx.
            code = next((c for c in sorted(op.op["responses"]) if c.startswith("2")), "200")
            answer = {} if op.op["responses"].get(code, {}).get("schema") else None
        else:
            answer = copy.deepcopy(responses[code].get("body"))
        if method == "GET":
            stored = srv.state.get(path.lower())
            if stored is not None:
                answer = merge_patch(answer if isinstance(answer, dict) else {}, stored)
            answer = self._progress(srv, entry, op, path, answer, headers)
        if method == "DELETE":
            srv.state.pop(path.lower(), None)
        return int(code), answer, headers

    def _start_operation(self, srv, entry, op, path, responses, accepted, async_headers, headers):
        op_id = str(uuid.uuid4())
        retry_after = 30
        if accepted and "Retry-After" in (accepted.get("headers") or {}):
            retry_after = int(accepted["headers"]["Retry-After"])
        origin = "https://management.azure.com"
        original = self.headers.get("X-Edgedr-Sim-Original-Url", "")
        if original:
            parts = urllib.parse.urlsplit(original)
            origin = "%s://%s" % (parts.scheme, parts.netloc)
        declared = set()
        for code in ("202", "201"):
            declared |= {k.lower() for k in (op.op["responses"].get(code, {}).get("headers") or {})}
        urls = {}
        for name, url in async_headers.items():
            # The example's URL, with this operation's own id in place of the example's.
            base, _, q = url.partition("?")
            urls[name.lower()] = base[: base.rstrip("/").rfind("/") + 1] + op_id + ("?" + q if q else "")
        version = op.spec.version
        if "location" in declared and "location" not in urls:
            urls["location"] = "%s%s/operationResults/%s?api-version=%s" % (origin, path, op_id, version)
        if ("azure-asyncoperation" in declared or op.lro_options.get("final-state-via") == "azure-async-operation") \
                and "azure-asyncoperation" not in urls:
            urls["azure-asyncoperation"] = "%s%s/operationStatuses/%s?api-version=%s" % (origin, path, op_id, version)
        final = responses.get("200", {}).get("body")
        for kind, url in urls.items():
            parts = urllib.parse.urlsplit(url)
            key = (urllib.parse.unquote(parts.path) + "?" + parts.query).lower()
            srv.handed_out[key] = {"url": url, "operation": op_id, "kind": kind, "retry_after": retry_after,
                                   "final": final, "started-by": op.id}
        # The LRO's result typed as the resource (final-state-schema) is its state from now on.
        schema = op.lro_options.get("final-state-schema", "")
        if final is not None and schema and op.method == "POST":
            resource = path.rsplit("/", 1)[0].lower()
            srv.state[resource] = copy.deepcopy(final)
        srv.last_write = (time.monotonic(), retry_after)
        entry["handed-out"] = {k: v for k, v in urls.items()}
        entry["operation-id"] = op_id
        entry["retry-after"] = retry_after
        out = dict(headers)
        names = {"location": "Location", "azure-asyncoperation": "Azure-AsyncOperation"}
        for kind, url in urls.items():
            out[names[kind]] = url
        out["Retry-After"] = str(retry_after)
        code = 202 if "202" in op.op["responses"] or not accepted else 201
        return code, None, out

    def _record_poll(self, srv, entry, path, state, retry_after):
        key = path.lower()
        now = time.monotonic()
        prev_time, prev_ra = srv.last_poll.get(key, srv.last_write)
        srv.polls.append({"time": srv.now(), "path": path, "operation": entry["operation"], "state": state,
                          "epoch": srv.epoch,
                          "since-previous": round(now - prev_time, 4), "retry-after": prev_ra,
                          "request": len(srv.requests) - 1})
        srv.last_poll[key] = (now, retry_after)

    def _progress(self, srv, entry, op, path, answer, headers):
        container, field = status_field(answer)
        if container is None:
            return answer
        key = path.lower()
        n = srv.poll_counts.get(key, 0)
        srv.poll_counts[key] = n + 1
        retry_after = srv.last_write[1] or 30
        if n < srv.polls_before_done:
            container[field] = "InProgress"
            headers["Retry-After"] = str(retry_after)
        elif container[field].lower() not in TERMINAL:
            container[field] = success_value(op, field, container is not answer)
        self._record_poll(srv, entry, path, container[field], retry_after)
        return answer

    def _monitor(self, srv, entry, handed):
        """A GET of an Azure-AsyncOperation or Location URL that matches no spec operation."""
        entry["operation"] = "lro:" + handed["kind"]
        headers = request_ids(self)
        key = entry["path"].lower()
        n = srv.poll_counts.get(key, 0)
        srv.poll_counts[key] = n + 1
        running = n < srv.polls_before_done
        ra = handed["retry_after"]
        if handed["kind"] == "azure-asyncoperation":
            state = "InProgress" if running else "Succeeded"
            self._record_poll(srv, entry, entry["path"], state, ra)
            body = {"id": entry["path"], "name": handed["operation"], "status": state,
                    "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            if running:
                headers["Retry-After"] = str(ra)
            return 200, body, headers
        self._record_poll(srv, entry, entry["path"], "InProgress" if running else "Succeeded", ra)
        if running:
            headers["Retry-After"] = str(ra)
            return 202, None, headers
        return (200, handed["final"], headers) if handed["final"] is not None else (204, None, headers)


def arm_error(code, message):
    return {"error": {"code": code, "message": message}}


def request_ids(handler):
    out = {"x-ms-request-id": str(uuid.uuid4())}
    corr = handler.headers.get("x-ms-correlation-request-id")
    out["x-ms-correlation-request-id"] = corr or str(uuid.uuid4())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specs", required=True, help="the azure-specs directory (with trafficmanager/, ...)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--polls", type=int, default=2, help="InProgress answers before a status turns terminal")
    args = ap.parse_args()
    app = Server(args.specs, args.polls)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.app = app
    port = httpd.server_address[1]
    print("http://127.0.0.1:%d" % port, flush=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
