#!/usr/bin/env python3
"""Runbooks and world files for `scripts/bench azure` (bench/azure_bench.py).

    bench/gen_azure_runbook.py tm N [--profiles P] -o DIR     (a) N Traffic Manager writes
    bench/gen_azure_runbook.py lro -o DIR                      (b) long-running operations
    bench/gen_azure_runbook.py compare -o DIR                  (c) the 20-step runbook

Each writes DIR/runbook.yaml and DIR/world.yaml. The world file is laid over the world the
simulator derives from the runbook (`edgedr sim serve --runbook R --world W`): it states ARM's
limits explicitly and the job durations the minimum call counts are computed from. Standard
library only; the same arguments give the same files.
"""

import argparse
import os

SUBSCRIPTION = "00000000-0000-0000-0000-00000000be7c"
# A bearer token the simulator accepts besides the ones it issues: for the az rest script of (c).
STATIC_TOKEN = "bench-static-token"

LIMITS = """limits:                       # ARM's documented buckets (CONTRACTS.md section 6), stated explicitly
  reads:   { capacity: 250, refill: 25 }
  writes:  { capacity: 200, refill: 10 }
  deletes: { capacity: 200, refill: 10 }
"""

# (b): one vault per operation, so that each vault's request log holds one operation's calls.
# Simulated durations; Retry-After is the simulator's (30 s Site Recovery, 60 s Backup).
LRO_SR = (
    # (service, vault, plan or item, subject, first operation, its duration s, then commit?)
    ("plan-failover", "rsv-plan-failover", "plan", "rp-failover", "failover", 360, True),
    ("item-failover", "rsv-item-failover", "item", "vm-failover01", "failover", 360, True),
    ("plan-test", "rsv-plan-test", "plan", "rp-test", "test-failover", 360, False),
    ("item-test", "rsv-item-test", "item", "vm-test01", "test-failover", 360, False),
)
LRO_COMMIT_S = 60
LRO_RESTORE_S = 900
LRO_BACKUP_S = 600
LRO_OPERATION_DELAY_S = 20
NETWORK = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-bench/providers/Microsoft.Network/virtualNetworks/vnet-drill"

# (c): simulated durations, shorter than Azure's so that three runs of each side stay short.
CMP_FAILOVER_S = 120
CMP_COMMIT_S = 60
CMP_RESTORE_S = 180
CMP_TM_ENDPOINTS = 8  # each gets a disable-endpoint and a set-priority step: 16 steps, after enable-dr
CMP_BACKUP_ITEM = "VM;iaasvmcontainerv2;rg-bench-files;files01"


def header(name, description, concurrency):
    return f"""edgedr: 1
name: {name}
description: {description}
owner: bench@example.invalid
on-failure: pause
concurrency: {concurrency}

azure:
  cloud: AzureCloud
  subscription: {SUBSCRIPTION}
"""


def tm(n, profiles):
    """N one-step services, spread over P profiles: every fifth a set-priority, the rest disable-endpoint."""
    per = (n + profiles - 1) // profiles
    out = [header(f"bench-tm-{n}", f"{n} Traffic Manager endpoint writes against ARM's write limit", 100000)]
    out.append("targets:\n")
    for p in range(profiles):
        out.append(f"  tm{p:02d}:\n    traffic-manager: {{ resource-group: rg-bench-tm, profile: tm-bench-{p:02d} }}\n")
    out.append("\nservices:\n")
    for i in range(n):
        p, e = divmod(i, per)
        target, endpoint = f"tm{p:02d}", f"ep{e:04d}"
        out.append(f"  s{i:04d}:\n    failover:\n")
        if i % 5 == 4:
            # Endpoints start at priorities 1..per in order of appearance; 500+ are free.
            out.append(f"      - name: set-priority\n        action: traffic-manager.set-priority\n"
                       f"        with: {{ target: {target}, endpoint: {endpoint}, endpoint-type: external, "
                       f"priority: {500 + e} }}\n")
        else:
            out.append(f"      - name: disable\n        action: traffic-manager.disable-endpoint\n"
                       f"        with: {{ target: {target}, endpoint: {endpoint}, endpoint-type: external }}\n")
    world = "# (a): ARM's limits, explicit. Profiles and endpoints come from the runbook.\n" + LIMITS
    return "".join(out), world


def lro():
    out = [header("bench-lro", "Site Recovery and Backup long-running operations", 100)]
    out.append("targets:\n")
    for service, vault, *_ in LRO_SR:
        out.append(f"  {service}:\n    site-recovery: {{ resource-group: rg-bench-asr, vault: {vault} }}\n")
    out.append("  restore:\n    backup: { resource-group: rg-bench-backup, vault: rsv-bench-restore }\n")
    out.append("  backup:\n    backup: { resource-group: rg-bench-backup, vault: rsv-bench-backup }\n")
    out.append("\nservices:\n")
    for service, _vault, kind, subject, op, _d, commit in LRO_SR:
        out.append(f"  {service}:\n    failover:\n")
        if op == "failover":
            out.append(f"      - name: failover\n        action: site-recovery.failover\n"
                       f"        with: {{ target: {service}, {kind}: {subject}, mode: unplanned, "
                       f"direction: primary-to-recovery }}\n        timeout: 1h\n")
        else:
            out.append(f"      - name: test-failover\n        action: site-recovery.test-failover\n"
                       f"        with: {{ target: {service}, {kind}: {subject}, network: {NETWORK} }}\n"
                       f"        timeout: 1h\n")
        if commit:
            out.append(f"      - name: commit\n        action: site-recovery.commit\n"
                       f"        with: {{ target: {service}, {kind}: {subject} }}\n        timeout: 1h\n")
    out.append('  restore:\n    failover:\n      - name: restore\n        action: backup.restore\n'
               '        with: { target: restore, item: "VM;iaasvmcontainerv2;rg-bench-vm;restore01" }\n'
               '        timeout: 3h\n')
    out.append('  backup:\n    failover:\n      - name: backup-now\n        action: backup.backup-now\n'
               '        with: { target: backup, item: "VM;iaasvmcontainerv2;rg-bench-vm;backup01" }\n'
               '        timeout: 3h\n')
    world = ["# (b): job durations the minimum call counts are computed from.\n", LIMITS, "site-recovery:\n"]
    for _service, vault, *_rest in LRO_SR:
        world.append(f"  - vault: {vault}\n    resource-group: rg-bench-asr\n"
                     f"    durations: {{ failover: 6m, test-failover: 6m, commit: {LRO_COMMIT_S}s }}\n")
    world.append("backup:\n")
    world.append(f"  - vault: rsv-bench-restore\n    resource-group: rg-bench-backup\n"
                 f"    restore-duration: {LRO_RESTORE_S}s\n    operation-delay: {LRO_OPERATION_DELAY_S}s\n")
    world.append(f"  - vault: rsv-bench-backup\n    resource-group: rg-bench-backup\n"
                 f"    backup-duration: {LRO_BACKUP_S}s\n    operation-delay: {LRO_OPERATION_DELAY_S}s\n")
    return "".join(out), "".join(world)


def compare():
    """20 steps: a recovery plan's failover and commit, and a Backup restore, in parallel; then
    17 Traffic Manager writes that depend on both."""
    out = [header("bench-compare", "20 Azure steps, for edgedr against a bash script of az rest calls", 16)]
    out.append("""targets:
  traffic:
    traffic-manager: { resource-group: rg-bench, profile: tm-bench }
  recovery:
    site-recovery: { resource-group: rg-bench, vault: rsv-bench-dr }
  vault:
    backup: { resource-group: rg-bench, vault: rsv-bench }

services:
  database:
    failover:
      - name: failover
        action: site-recovery.failover
        with: { target: recovery, plan: rp-db, mode: unplanned, direction: primary-to-recovery }
        timeout: 1h
      - name: commit
        action: site-recovery.commit
        with: { target: recovery, plan: rp-db }
        timeout: 1h
  files:
    failover:
      - name: restore
        action: backup.restore
""")
    out.append(f'        with: {{ target: vault, item: "{CMP_BACKUP_ITEM}" }}\n        timeout: 3h\n')
    out.append("  traffic:\n    depends-on: [database, files]\n    failover:\n")
    out.append("      - name: enable-dr\n        action: traffic-manager.enable-endpoint\n"
               "        with: { target: traffic, endpoint: dr, endpoint-type: external }\n")
    for e in range(CMP_TM_ENDPOINTS):
        out.append(f"      - name: disable-{e}\n        action: traffic-manager.disable-endpoint\n"
                   f"        with: {{ target: traffic, endpoint: ep{e}, endpoint-type: external }}\n")
    for e in range(CMP_TM_ENDPOINTS):
        out.append(f"      - name: priority-{e}\n        action: traffic-manager.set-priority\n"
                   f"        with: {{ target: traffic, endpoint: ep{e}, endpoint-type: external, "
                   f"priority: {100 + e} }}\n")
    world = f"""# (c): shorter jobs than Azure's; a static token for the az rest script.
tokens: [{STATIC_TOKEN}]
{LIMITS}traffic-manager:
  - profile: tm-bench
    resource-group: rg-bench
    endpoints:
      dr: {{ status: Disabled }}
site-recovery:
  - vault: rsv-bench-dr
    resource-group: rg-bench
    durations: {{ failover: {CMP_FAILOVER_S}s, commit: {CMP_COMMIT_S}s }}
backup:
  - vault: rsv-bench
    resource-group: rg-bench
    restore-duration: {CMP_RESTORE_S}s
    operation-delay: 20s
"""
    return "".join(out), world


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["tm", "lro", "compare"])
    ap.add_argument("n", nargs="?", type=int, default=500)
    ap.add_argument("--profiles", type=int, default=5)
    ap.add_argument("-o", "--out", required=True, help="directory for runbook.yaml and world.yaml")
    a = ap.parse_args()
    if a.kind == "tm":
        runbook, world = tm(a.n, a.profiles)
    elif a.kind == "lro":
        runbook, world = lro()
    else:
        runbook, world = compare()
    os.makedirs(a.out, exist_ok=True)
    for name, text in (("runbook.yaml", runbook), ("world.yaml", world)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
