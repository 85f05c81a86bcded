#!/usr/bin/env bash
# Runs a simulated VPP (vppstat serve --simulate) and otelcol-vpp with
# config/demo.yaml until Ctrl-C, then stops both. `make demo` builds the
# binaries and calls this script.
#
# Environment:
#   VPPSTAT_BIN, OTELCOL_VPP_BIN  the binaries (default: build/ outputs)
#   VPPSTATS_DEMO_DIR             socket and logs (default /tmp/vppstats-demo)
#   DEMO_INTERFACES, DEMO_THREADS, DEMO_RATE, DEMO_CHURN  simulator knobs
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
vppstat="${VPPSTAT_BIN:-$root/build/bin/vppstat}"
otelcol="${OTELCOL_VPP_BIN:-$root/build/otelcol-vpp/otelcol-vpp}"
dir="${VPPSTATS_DEMO_DIR:-/tmp/vppstats-demo}"
metrics_url="http://127.0.0.1:8889/metrics"
health_url="http://127.0.0.1:13133/"

for b in "$vppstat" "$otelcol"; do
	[[ -x $b ]] || { echo "demo: $b is not built; run 'make demo'" >&2; exit 1; }
done

mkdir -p "$dir"
sock="$dir/stats.sock"
sim_log="$dir/vppstat.log"
col_log="$dir/otelcol.log"
rm -f "$sock"

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo: stopping"
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -f "$sock"
	echo "demo: stopped; logs kept in $dir"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

"$vppstat" serve --socket "$sock" --simulate \
	--interfaces "${DEMO_INTERFACES:-4}" --threads "${DEMO_THREADS:-2}" \
	--rate "${DEMO_RATE:-100000}" --churn "${DEMO_CHURN:-1m}" >"$sim_log" 2>&1 &
pids+=($!)

for _ in $(seq 100); do [[ -S $sock ]] && break; kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.1; done
if [[ ! -S $sock ]]; then
	echo "demo: the simulator did not create $sock; its log:" >&2
	cat "$sim_log" >&2
	exit 1
fi

VPPSTATS_SOCKET="$sock" "$otelcol" --config "$root/config/demo.yaml" >"$col_log" 2>&1 &
pids+=($!)

ready=
for _ in $(seq 150); do
	if ! kill -0 "${pids[1]}" 2>/dev/null; then break; fi
	if (exec 3<>/dev/tcp/127.0.0.1/8889) 2>/dev/null; then ready=1; break; fi
	sleep 0.2
done
if [[ -z $ready ]]; then
	echo "demo: otelcol-vpp did not come up; its log:" >&2
	tail -n 40 "$col_log" >&2
	exit 1
fi

cat <<MSG
demo: simulated VPP serving $sock (log: $sim_log)
demo: otelcol-vpp running with config/demo.yaml (log: $col_log)

  Prometheus metrics: $metrics_url
  Health check:       $health_url
  Try:                curl -s $metrics_url | grep '^vpp_interface_packets'
                      tail -f $col_log
                      $vppstat ls --socket $sock

Press Ctrl-C to stop.
MSG

# Return when either process exits (or on Ctrl-C, via the trap).
set +e
wait -n "${pids[@]}"
rc=$?
echo "demo: a process exited (status $rc); see $sim_log and $col_log" >&2
exit "$rc"
