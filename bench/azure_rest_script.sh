#!/usr/bin/env bash
# The 20 steps of `bench/gen_azure_runbook.py compare` as a careful bash script would run them:
# one `az rest` per request, the same requests edgedr sends, in the same dependency order, one
# after another (a bash script is sequential; edgedr runs the failover and the restore side by
# side, as the runbook allows). Used by `scripts/bench azure` (bench/azure_bench.py, part c).
#
#   bench/azure_rest_script.sh BASE_URL TIME_SCALE [AZ]
#
# BASE_URL is an `edgedr sim serve` started with the runbook and world of `gen_azure_runbook.py
# compare`; TIME_SCALE the real seconds per simulated second it runs at (waits of Retry-After
# seconds sleep Retry-After x TIME_SCALE). The simulator accepts the world's static token, so
# `az rest --skip-authorization-header` sends it in --headers and needs no `az login`.
# `az rest` prints only bodies: the Location, Azure-AsyncOperation and Retry-After headers of a
# 202 are read from its --debug log. Set AZURE_CONFIG_DIR (a scratch directory) and
# AZURE_CORE_COLLECT_TELEMETRY=false around it.
set -euo pipefail

base=${1:?usage: azure_rest_script.sh BASE_URL TIME_SCALE [AZ]}
scale=${2:?usage: azure_rest_script.sh BASE_URL TIME_SCALE [AZ]}
az=${3:-az}
sub=00000000-0000-0000-0000-00000000be7c
token=bench-static-token
tm=$base/subscriptions/$sub/resourceGroups/rg-bench/providers/Microsoft.Network/trafficmanagerprofiles/tm-bench
asr=$base/subscriptions/$sub/resourceGroups/rg-bench/providers/Microsoft.RecoveryServices/vaults/rsv-bench-dr
bvault=$base/subscriptions/$sub/resourceGroups/rg-bench/providers/Microsoft.RecoveryServices/vaults/rsv-bench
vm_rg=rg-bench-files vm=files01
bitem="$bvault/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;$vm_rg;$vm/protectedItems/VM;iaasvmcontainerv2;$vm_rg;$vm"
tm_api=2026-09-01 asr_api=2026-05-01 backup_api=2026-02-01

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# rest METHOD URL [az rest options...]: the response body on stdout. With BENCH_BODY_LOG set,
# each request body is appended to that file as given (az rest re-serializes it before sending).
rest() {
  local method=$1 url=$2 a
  shift 2
  if [[ -n "${BENCH_BODY_LOG:-}" ]]; then
    for a in "$@"; do
      if [[ "${prev:-}" == --body ]]; then printf '%s\n' "$a" >>"$BENCH_BODY_LOG"; fi
      prev=$a
    done
    prev=
  fi
  "$az" rest --method "$method" --url "$url" --skip-authorization-header \
    --headers "Authorization=Bearer $token" "$@"
}

# post URL BODY: sends the POST; the response's headers are left in $tmp/headers.
post() {
  local url=$1 body=$2
  if [[ -n "$body" ]]; then
    rest post "$url" --body "$body" --debug 2>"$tmp/debug" >/dev/null
  else
    rest post "$url" --debug 2>"$tmp/debug" >/dev/null
  fi
  sed -n "/Response headers:/,/Response content:/p" "$tmp/debug" >"$tmp/headers"
}

# header NAME: a header of the last POST's response.
header() {
  sed -n "s/.*'$1': '\(.*\)'.*/\1/Ip" "$tmp/headers" | head -1
}

nap() { sleep "$(awk -v s="$1" -v f="$scale" 'BEGIN { printf "%.3f", s * f }')"; }

# check_allowed PLAN OPERATION: read the plan; stop unless the operation is allowed now.
check_allowed() {
  local allowed
  allowed=$(rest get "$asr/replicationRecoveryPlans/$1?api-version=$asr_api" --query "properties.allowedOperations" -o tsv)
  grep -qx "$2" <<<"$allowed" || { echo "$2 is not allowed on $1 (allowed: $allowed)" >&2; exit 1; }
}

# asr_job ACTION BODY: POST the plan action and poll its job every Retry-After until it ends.
asr_action() {
  local plan=$1 action=$2 body=$3 job ra state
  post "$asr/replicationRecoveryPlans/$plan/$action?api-version=$asr_api" "$body"
  job=$(header Location | sed -n 's|.*/operationresults/\([^/?]*\).*|\1|Ip')
  [[ -n "$job" ]] || { echo "$action on $plan: no job in the answer" >&2; exit 1; }
  ra=$(header Retry-After)
  while :; do
    nap "${ra:-30}"
    state=$(rest get "$asr/replicationJobs/$job?api-version=$asr_api" --query properties.state -o tsv)
    case "$state" in
      Succeeded) break ;;
      Failed | Cancelled | Canceled) echo "job $job of $action on $plan: $state" >&2; exit 1 ;;
    esac
  done
  echo "$action on $plan: job $job $state"
}

# database: failover, then commit.
check_allowed rp-db UnplannedFailover
asr_action rp-db unplannedFailover \
  '{"properties":{"failoverDirection":"PrimaryToRecovery","providerSpecificDetails":[{"instanceType":"A2A","recoveryPointType":"Latest"}],"sourceSiteOperations":"NotRequired"}}'
check_allowed rp-db Commit
asr_action rp-db failoverCommit ''

# files: restore the newest recovery point to an alternate location.
point=$(rest get "$bitem/recoveryPoints?api-version=$backup_api" \
  --query "sort_by(value, &properties.recoveryPointTime)[-1].name" -o tsv)
post "$bitem/recoveryPoints/$point/restore?api-version=$backup_api" \
  "{\"properties\":{\"objectType\":\"IaasVMRestoreRequest\",\"recoveryPointId\":\"$point\",\"recoveryType\":\"AlternateLocation\",\"sourceResourceId\":\"/subscriptions/$sub/resourceGroups/$vm_rg/providers/Microsoft.Compute/virtualMachines/$vm\"}}"
status_url=$(header Azure-AsyncOperation)
ra=$(header Retry-After)
while :; do
  nap "${ra:-60}"
  read -r state job <<<"$(rest get "$status_url" --query "[status, properties.jobId]" -o tsv | tr '\n' ' ')"
  case "$state" in
    Succeeded) break ;;
    InProgress | '') ;;
    *) echo "restore operation: $state" >&2; exit 1 ;;
  esac
done
while :; do
  state=$(rest get "$bvault/backupJobs/$job?api-version=$backup_api" --query properties.status -o tsv)
  case "$state" in
    Completed | CompletedWithWarnings) break ;;
    Failed | Cancelled) echo "restore job $job: $state" >&2; exit 1 ;;
  esac
  nap "${ra:-60}"
done
echo "restore of $vm from $point: job $job $state"

# traffic: after both: enable the DR endpoint, take the others out, renumber them. Each step reads the endpoint (its prior state, as a script that can undo
# would keep), then PATCHes it; a priority change also reads the profile for the priorities in use.
rest get "$tm/ExternalEndpoints/dr?api-version=$tm_api" >"$tmp/prior-dr.json"
rest patch "$tm/ExternalEndpoints/dr?api-version=$tm_api" --body '{"properties":{"endpointStatus":"Enabled"}}' >/dev/null
echo "dr enabled"
for e in 0 1 2 3 4 5 6 7; do
  rest get "$tm/ExternalEndpoints/ep$e?api-version=$tm_api" >"$tmp/prior-ep$e.json"
  rest patch "$tm/ExternalEndpoints/ep$e?api-version=$tm_api" --body '{"properties":{"endpointStatus":"Disabled"}}' >/dev/null
  echo "ep$e disabled"
done
for e in 0 1 2 3 4 5 6 7; do
  rest get "$tm/ExternalEndpoints/ep$e?api-version=$tm_api" >"$tmp/prior-priority-ep$e.json"
  in_use=$(rest get "$tm?api-version=$tm_api" --query "properties.endpoints[].properties.priority" -o tsv)
  if grep -qx "$((100 + e))" <<<"$in_use"; then echo "priority $((100 + e)) is in use" >&2; exit 1; fi
  rest patch "$tm/ExternalEndpoints/ep$e?api-version=$tm_api" --body "{\"properties\":{\"priority\":$((100 + e))}}" >/dev/null
  echo "ep$e priority $((100 + e))"
done
