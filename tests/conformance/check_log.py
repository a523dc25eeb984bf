#!/usr/bin/env python3
"""Checks spec_server.py's log (GET /_conformance/log) after edgedr ran against it.

  check_log.py LOG.json --scale F [--polls N] [--expect OPERATION_ID ...]

Prints one `FAIL: ...` line per problem (and a summary) and exits 1 when there is any:
  - any violation the server recorded (path, api-version, headers, body schema);
  - a request that matched no spec operation;
  - an expected operation that was never answered with a 2xx;
  - an x-ms-client-request-id used by two different calls;
  - polling: a poll sooner than the Retry-After the client was given (times --scale, less 20 %),
    more than N InProgress answers, a poll of a status already terminal, or a long-running
    operation that was never followed;
  - the Location URL polled although Azure-AsyncOperation was given (ARM's rule: the
    Azure-AsyncOperation URL carries the status; Location is for the final result).
"""
import argparse
import json
import sys

TERMINAL = {"succeeded", "failed", "canceled", "cancelled", "completed", "completedwithwarnings"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--scale", type=float, required=True, help="edgedr's --time-scale")
    ap.add_argument("--polls", type=int, default=2)
    ap.add_argument("--expect", nargs="*", default=[])
    args = ap.parse_args()
    with open(args.log) as f:
        log = json.load(f)
    requests, problems = log["requests"], []

    for v in log["violations"]:
        problems.append("%s %s (%s): %s" % (v["method"], v["path"], v["operation"] or "no operation", v["violation"]))
    for r in requests:
        if not r["operation"]:
            problems.append("%s %s matched no operation of the specs" % (r["method"], r["path"]))

    answered = {r["operation"] for r in requests if 200 <= r.get("status", 0) < 300}
    for op in args.expect:
        if op not in answered:
            problems.append("%s was never called (or never answered 2xx)" % op)

    seen_ids = {}
    for r in requests:
        crid = r.get("client-request-id")
        if not crid:
            continue
        call = (r["method"], r["path"], r["query"])
        if crid in seen_ids and seen_ids[crid] != call:
            problems.append("x-ms-client-request-id %s sent by two calls: %s and %s" % (crid, seen_ids[crid], call))
        seen_ids[crid] = call

    sequences = {}
    for p in log["polls"]:
        sequences.setdefault((p["path"].lower(), p["epoch"]), []).append(p)
    for (path, _), polls in sequences.items():
        running = 0
        for i, p in enumerate(polls):
            owed = p["retry-after"] * args.scale * 0.8
            if p["since-previous"] < owed:
                problems.append("poll of %s %.3f s after the previous answer; Retry-After %s s asked for %.3f s" %
                                (path, p["since-previous"], p["retry-after"], p["retry-after"] * args.scale))
            if i > 0 and polls[i - 1]["state"].lower() in TERMINAL:
                problems.append("poll of %s after it had already answered %s" % (path, polls[i - 1]["state"]))
            running += p["state"] == "InProgress"
        if running > args.polls:
            problems.append("%s answered InProgress %d times, the server only says it %d times" % (path, running, args.polls))

    followed = 0
    for i, r in enumerate(requests):
        urls = r.get("handed-out")
        if not urls:
            continue
        later = [q for q in requests[i + 1:] if q["method"] == "GET"]
        hit = {kind: any(q.get("followed") and q["original-url"].lower() == url.lower() for q in later)
               for kind, url in urls.items()}
        by_id = any(q["path"].rstrip("/").lower().endswith("/" + r["operation-id"]) for q in later)
        if "azure-asyncoperation" in urls and hit.get("location"):
            problems.append("%s: the Location URL was polled although Azure-AsyncOperation was given" % r["operation"])
        if not hit.get("azure-asyncoperation") and not hit.get("location") and not by_id:
            problems.append("%s: the long-running operation %s was never followed" % (r["operation"], r["operation-id"]))
        else:
            followed += 1

    for p in problems:
        print("FAIL: " + p)
    print("%d requests, %d operations, %d long-running operations followed, %d polls, %d problems" %
          (len(requests), len(answered), followed, len(log["polls"]), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
