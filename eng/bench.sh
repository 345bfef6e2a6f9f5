#!/usr/bin/env bash
# The sandbox's costs, each measured side by side with the unsandboxed run in one invocation on
# this machine, reported as medians and ratios:
#   1. per command: bare `true`, bubblewrap alone with the very mounts the tool uses, the tool
#      without network, the tool with the egress proxy and bridge, and `dotnet sandbox` through
#      the SDK's dispatcher;
#   2. throughput: a 1 GiB body from a loopback server, directly and through the egress proxy
#      (CONNECT tunnel and plain HTTP), with socat relaying in the proxy's place as a reference;
#   3. `dotnet restore` with cold caches from the real feed, directly and sandboxed;
#   4. `dotnet sandbox test` against `dotnet test` on a warm sample;
#   5. policy inference for a multi-project solution, cold and warm;
#   6. the host-side path checks (every bind source resolved component by component before it is
#      bound), with BenchmarkDotNet, against the medians of 1 and 5;
#   7. load: tunnels per second with 200 open at once through one sandbox against curl straight to
#      the server, 1 GiB of the command's stdout through a pipe against the same pipe without the
#      tool, and the tool's peak RSS (VmHWM) during each.
# Usage: eng/bench.sh [runs for 1 and 5 warm (default 50)] [runs for 3, 4 and 5 cold (default 5)]
# Environment: SECTIONS (default "1 2 3 4 5 6 7") picks sections; THROUGHPUT_ROUNDS (default 15) is the
# number of rounds of section 2; LOAD_ROUNDS (default 7) of section 7.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
root=$(repo_root)
cd "$root"
runs=${1:-50}
slow_runs=${2:-5}
sections=${SECTIONS:-1 2 3 4 5 6 7}
rounds=${THROUGHPUT_ROUNDS:-15}
load_rounds=${LOAD_ROUNDS:-7}
wants() { [[ " $sections " == *" $1 "* ]]; }

ensure_tools bwrap:bubblewrap hyperfine:hyperfine jq:jq curl:curl python3:python3 socat:socat
command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || ensure_tools clang:clang

rid=$(host_rid)
out="$root/artifacts/bench"
echo "==> publishing the native tool to $out"
dotnet publish src/SandboxedBuild.Cli -c Release -r "$rid" -o "$out/tool" -nologo -v:q >/dev/null
tool="$out/tool/dotnet-sandbox"

work=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-bench.XXXXXX")
body=/dev/shm/sandbox-bench-$$
server=
relay=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$relay" ] && kill "$relay" 2>/dev/null
  rm -rf "$work" "$body"
}
trap cleanup EXIT
cd "$work"

median() { jq ".results[$2].median" "$1"; }
ratio() { jq -n --argjson a "$1" --argjson b "$2" '$a/$b*100|round/100'; }
ms() { jq -n --argjson a "$1" --argjson b "$2" '($a-$b)*1000*100|round/100'; }

# ---------------------------------------------------------------------------------------------
if wants 1; then
echo "==> 1. per-command cost ($runs runs each)"
# A project whose protected names all exist, so that bubblewrap alone can run the printed command
# line (the tool creates missing ones as placeholders for a run, and removes them after).
git init -q . && mkdir -p .vscode .idea .devcontainer .husky .githooks .git/hooks .git/modules .git/worktrees
touch .envrc .bashrc .bash_profile .bash_login .profile .zshrc .zshenv .zprofile .zlogin
# The exact bubblewrap command line the tool would run without network, on one line.
"$tool" exec --no-network --print-policy --format bwrap -- true | sed 's/ \\$//' | tr '\n' ' ' > "$out/bwrap-command.txt"
commands=("true" "$(cat "$out/bwrap-command.txt")" "$tool exec --no-network -- true" "$tool exec -- true")
names=("bare true" "bwrap alone (same mounts, no network)" "dotnet-sandbox exec --no-network -- true" "dotnet-sandbox exec -- true (egress proxy + bridge)")
if command -v dotnet-sandbox >/dev/null 2>&1 || [ -x "$HOME/.dotnet/tools/dotnet-sandbox" ]; then
  export PATH="$PATH:$HOME/.dotnet/tools"
  commands+=("dotnet sandbox exec -- true" "dotnet sandbox --version")
  names+=("dotnet sandbox exec -- true (installed tool, via the SDK dispatcher)" "dotnet sandbox --version (the dispatcher alone, no sandbox)")
fi
args=()
for i in "${!commands[@]}"; do args+=(-n "${names[$i]}" "${commands[$i]}"); done
hyperfine -N --warmup 5 --runs "$runs" --export-json "$out/exec.json" "${args[@]}" >/dev/null

echo "machine: $(nproc) cores, kernel $(uname -r), bubblewrap $(bwrap --version | awk '{print $2}')"
printf '  %-72s %10s %8s\n' "command" "median ms" "ratio"
base=$(median "$out/exec.json" 0)
jq -r --argjson base "$base" '.results[] | [.command, (.median*1000), (.median/$base)] | @tsv' "$out/exec.json" |
  while IFS=$'\t' read -r name m r; do printf '  %-72s %10.2f %7.1fx\n' "$name" "$m" "$r"; done
bw=$(median "$out/exec.json" 1); nonet=$(median "$out/exec.json" 2); net=$(median "$out/exec.json" 3)
echo "  tool without network over bubblewrap alone: $(ms "$nonet" "$bw") ms"
echo "  network bridge (proxy + bridge) over no network: $(ms "$net" "$nonet") ms (budget: <= 10 ms)"
fi

# ---------------------------------------------------------------------------------------------
if wants 2; then
echo
echo "==> 2. 1 GiB from a loopback server: direct vs through the egress proxy ($rounds rounds)"
head -c $((1024 * 1024 * 1024)) /dev/zero > "$body"
port=$((20000 + RANDOM % 20000))
relay_port=$((port + 1))
python3 "$root/eng/bench-server.py" "$port" "$body" &
server=$!
# The reference: a plain relay in the proxy's place (curl -> relay -> server, both hops over
# loopback), copying through a 1 MiB buffer; no sandbox, no policy.
socat -b 1048576 "TCP-LISTEN:$relay_port,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$port" &
relay=$!
sleep 0.5
get="curl -sS --noproxy '' -o /dev/null"
names=("direct" "through the proxy (CONNECT tunnel, curl -p)" "through the proxy (plain HTTP)" "socat relay in the proxy's place (reference)")
cmds=("sh -c \"$get http://127.0.0.1:$port/\""
  "$tool exec --allow-host 127.0.0.1:$port -- sh -c \"$get -p http://127.0.0.1:$port/\""
  "$tool exec --allow-host 127.0.0.1:$port -- sh -c \"$get http://127.0.0.1:$port/\""
  "sh -c \"$get http://127.0.0.1:$relay_port/\"")
# One run of each row per round, in a new order every round: on a machine that is busy with
# something else now and then, that slows every row alike instead of whichever ran at the time.
rm -f "$out"/throughput-*.json
for r in $(seq 1 "$rounds"); do
  args=()
  for i in $(shuf -e "${!cmds[@]}"); do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  warmup=0; [ "$r" -eq 1 ] && warmup=1
  hyperfine -N --warmup "$warmup" --runs 1 --export-json "$out/throughput-$r.json" "${args[@]}" >/dev/null
done
jq -s '[.[].results[]] | group_by(.command) | map({command: .[0].command, times: [.[].times[]] | sort})' "$out"/throughput-*.json > "$out/throughput.json"
tstat() { jq --arg c "$1" ".[] | select(.command == \$c) | .times | $2" "$out/throughput.json"; }
med() { tstat "$1" '(if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end)'; }
d=$(med "${names[0]}")
printf '  %-46s %9s %17s %9s %7s\n' "" "median s" "middle half, s" "MiB/s" "ratio"
for name in "${names[@]}"; do
  m=$(med "$name")
  q1=$(tstat "$name" '.[length/4|floor]'); q3=$(tstat "$name" '.[(3*length/4)|floor]')
  printf '  %-46s %9.3f %8.3f – %6.3f %9.0f %6.2fx\n' "$name" "$m" "$q1" "$q3" "$(jq -n --argjson t "$m" '1024/$t')" "$(ratio "$d" "$m")"
done
echo "  throughput through the proxy / direct: $(ratio "$d" "$(med "${names[1]}")")x (budget: >= 0.8x; the socat row is what a plain relay in the same place reaches)"
kill "$server" "$relay" 2>/dev/null || true
server=
relay=
rm -f "$body"
fi

# ---------------------------------------------------------------------------------------------
if wants 3; then
echo
echo "==> 3. dotnet restore with cold caches: direct vs sandboxed ($slow_runs runs each, real feed)"
if curl -sS --max-time 15 -o /dev/null https://api.nuget.org/v3/index.json; then
  sample="$work/restore"
  mkdir -p "$sample"
  cp "$root"/testassets/restore-from-nuget/* "$root"/testassets/Directory.Build.props "$sample/"
  # Packages and the HTTP cache in the project: exec keeps the shared packages folder read-only.
  restore="dotnet restore $sample --packages $sample/packages -nologo -v:q"
  hyperfine -N --runs "$slow_runs" --export-json "$out/restore.json" \
    --prepare "rm -rf $sample/obj $sample/packages $sample/http-cache" \
    -n "dotnet restore" "env NUGET_HTTP_CACHE_PATH=$sample/http-cache $restore" \
    -n "dotnet-sandbox exec -- dotnet restore" "$tool exec --workdir $sample --setenv NUGET_HTTP_CACHE_PATH=$sample/http-cache -- $restore" >/dev/null
  d=$(median "$out/restore.json" 0); s=$(median "$out/restore.json" 1)
  printf '  direct:    %6.2f s\n  sandboxed: %6.2f s\n' "$d" "$s"
  echo "  sandboxed / direct: $(ratio "$s" "$d")x (budget: <= 1.10x)"
else
  echo "  skipped: api.nuget.org is not reachable from this machine"
fi
fi

# ---------------------------------------------------------------------------------------------
if wants 4; then
echo
echo "==> 4. dotnet sandbox test vs dotnet test on a warm sample (restore done, build up to date; $slow_runs runs each)"
if curl -sS --max-time 15 -o /dev/null https://api.nuget.org/v3/index.json; then
  sample="$work/xunit"
  mkdir -p "$sample"
  cp -r "$root"/testassets/xunit-vstest/. "$sample/"
  cp "$root"/testassets/Directory.Build.props "$root"/testassets/Directory.Build.targets "$root"/testassets/Directory.Packages.props "$sample/"
  (cd "$sample" && git init -q . && "$tool" test >/dev/null 2>&1 && dotnet test >/dev/null 2>&1)
  hyperfine -N --warmup 1 --runs "$slow_runs" --export-json "$out/test.json" \
    -n "dotnet test" "dotnet test $sample/xunit-vstest.csproj" \
    -n "dotnet-sandbox test (restore skipped, build, test: two sandboxes)" "$tool test $sample/xunit-vstest.csproj" >/dev/null
  d=$(median "$out/test.json" 0); s=$(median "$out/test.json" 1)
  printf '  dotnet test:         %6.2f s\n  dotnet-sandbox test: %6.2f s\n' "$d" "$s"
  echo "  sandboxed / direct: $(ratio "$s" "$d")x (budget: <= 1.05x)"
else
  echo "  skipped: api.nuget.org is not reachable from this machine (the sample needs xunit)"
fi
fi

# ---------------------------------------------------------------------------------------------
if wants 5; then
echo
echo "==> 5. policy inference for the multi-project sample (testassets/multi): cold and warm"
multi="$work/multi"
mkdir -p "$multi"
cp -r "$root"/testassets/multi/. "$multi/"
# multi brings its own Directory.Build.props and .targets, which keep the repository's settings out.
(cd "$multi" && git init -q .)
# Cold: every project evaluated by MSBuild inside the sandbox; warm: the cache, checked against file contents.
hyperfine -N --runs "$slow_runs" --export-json "$out/policy-cold.json" \
  -n "dotnet-sandbox policy (cold: --no-cache)" "$tool policy $multi/multi.slnx --no-cache" >/dev/null
"$tool" policy "$multi/multi.slnx" >/dev/null 2>&1
hyperfine -N --warmup 3 --runs "$runs" --export-json "$out/policy-warm.json" \
  -n "dotnet-sandbox policy (warm)" "$tool policy $multi/multi.slnx" >/dev/null
cold=$(median "$out/policy-cold.json" 0); warm=$(median "$out/policy-warm.json" 0)
printf '  cold: %8.1f ms\n  warm: %8.1f ms (budget: <= 100 ms)\n' "$(jq -n --argjson t "$cold" '$t*1000')" "$(jq -n --argjson t "$warm" '$t*1000')"
fi
# ---------------------------------------------------------------------------------------------
if wants 6; then
echo
echo "==> 6. path checks: every bind source resolved on the host (BenchmarkDotNet, in process)"
multi="$work/multi"
if [ ! -d "$multi" ]; then
  mkdir -p "$multi" && cp -r "$root"/testassets/multi/. "$multi/" && (cd "$multi" && git init -q .)
fi
# The restore step's policy has the most entries (every package version already in the folder).
"$tool" policy "$multi/multi.slnx" --step restore --format json 2>/dev/null | jq -r '.paths[].path' > "$out/bench-paths.txt"
dotnet build "$root/tests/SandboxedBuild.Benchmarks" -c Release -nologo -v:q >/dev/null
rm -rf "$out/bdn"
(cd "$multi" && SBX_BENCH_PATHS="$out/bench-paths.txt" dotnet "$root/artifacts/bin/SandboxedBuild.Benchmarks/release/SandboxedBuild.Benchmarks.dll" \
  --filter "*" --inProcess --exporters fulljson --artifacts "$out/bdn" >/dev/null)
report=$(ls "$out"/bdn/results/*-report-full.json | head -1)
resolve=$(jq '.Benchmarks[] | select(.Method=="ResolveEveryPath") | .Statistics.Median' "$report")
exec_policy=$(jq '.Benchmarks[] | select(.Method=="BuildExecPolicy") | .Statistics.Median' "$report")
printf '  resolving %d bind sources of the restore policy: %8.1f us (median)\n' "$(wc -l < "$out/bench-paths.txt")" "$(jq -n --argjson t "$resolve" '$t/1000')"
record=$(jq '.Benchmarks[] | select(.Method=="RecordExecMounts") | .Statistics.Median' "$report")
verify=$(jq '.Benchmarks[] | select(.Method=="VerifyExecMountsWork") | .Statistics.Median' "$report")
printf '  building the exec policy, checks included:       %8.1f us (median)\n' "$(jq -n --argjson t "$exec_policy" '$t/1000')"
printf '  mount check of exec: record before the spawn:    %8.1f us (median)\n' "$(jq -n --argjson t "$record" '$t/1000')"
printf '  mount check of exec: host-side work of verify:   %8.1f us (median)\n' "$(jq -n --argjson t "$verify" '$t/1000')"
printf '  all host-side checks of exec -- true:            %8.1f us (median sum)\n' "$(jq -n --argjson a "$exec_policy" --argjson b "$record" --argjson c "$verify" '($a+$b+$c)/1000')"
echo "  budget: <= 2 ms on exec -- true; <= 5 % of warm policy inference"
if [ -f "$out/policy-warm.json" ]; then
  warm=$(median "$out/policy-warm.json" 0)
  echo "  share of warm policy inference ($(jq -n --argjson t "$warm" '$t*1000*10|round/10') ms): $(jq -n --argjson a "$resolve" --argjson w "$warm" '$a/1e9/$w*100*100|round/100') %"
fi
if [ -f "$out/exec.json" ]; then
  nonet=$(median "$out/exec.json" 2)
  echo "  share of exec --no-network -- true ($(jq -n --argjson t "$nonet" '$t*1000*10|round/10') ms): $(jq -n --argjson a "$exec_policy" --argjson w "$nonet" '$a/1e9/$w*100*100|round/100') %"
fi
fi

# ---------------------------------------------------------------------------------------------
if wants 7; then
echo
echo "==> 7. load: 200 tunnels at once, 1 GiB of stdout, the tool's peak RSS ($load_rounds rounds)"
# One wave: 200 tunnels opened at once, each carrying 4 KiB. (Churning 1000 transfers 200 at a time
# is LoadAndFaultTests' job: it once crossed the bound of 256, when the proxy still counted a tunnel
# the client had closed until the server closed too.)
transfers=200
head -c 4096 /dev/zero > "$body"
port=$((20000 + RANDOM % 20000))
python3 "$root/eng/bench-server.py" "$port" "$body" &
server=$!
sleep 0.5
# One curl, 200 transfers at a time, each on a connection of its own (a CONNECT tunnel when sandboxed).
for i in $(seq 1 "$transfers"); do printf 'url = "http://127.0.0.1:%d/%d"\noutput = "/dev/null"\n' "$port" "$i"; done > "$work/urls.conf"
many="curl -sS --fail --max-time 120 -Z --parallel-immediate --parallel-max 200 -K $work/urls.conf"
stream="head -c $((1024 * 1024 * 1024)) /dev/zero"
names=("tunnels: direct" "tunnels: sandboxed (CONNECT through the proxy)" "stdout: direct pipe" "stdout: sandboxed pipe" "start: exec -- true (for reference)")
cmds=("$many --noproxy '*'"
  "$tool exec --allow-host 127.0.0.1:$port -- $many --noproxy '' -p"
  "sh -c \"$stream | cat > /dev/null\""
  "sh -c \"$tool exec -- $stream | cat > /dev/null\""
  "$tool exec -- true")
rm -f "$out"/load-*.json
for r in $(seq 1 "$load_rounds"); do
  args=()
  for i in $(shuf -e "${!cmds[@]}"); do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  warmup=0; [ "$r" -eq 1 ] && warmup=1
  hyperfine -N --warmup "$warmup" --runs 1 --export-json "$out/load-$r.json" "${args[@]}" >/dev/null
done
jq -s '[.[].results[]] | group_by(.command) | map({command: .[0].command, times: [.[].times[]] | sort})' "$out"/load-*.json > "$out/load.json"
lstat() { jq --arg c "$1" ".[] | select(.command == \$c) | .times | $2" "$out/load.json"; }
lmed() { lstat "$1" '(if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end)'; }
td=$(lmed "${names[0]}"); ts=$(lmed "${names[1]}"); sd=$(lmed "${names[2]}"); ss=$(lmed "${names[3]}"); st=$(lmed "${names[4]}")
printf '  %-50s %9s %12s\n' "" "median s" "rate"
printf '  %-50s %9.3f %9.0f /s\n' "${names[0]} ($transfers transfers)" "$td" "$(jq -n --argjson t "$td" --argjson n "$transfers" '$n/$t')"
printf '  %-50s %9.3f %9.0f /s\n' "${names[1]}" "$ts" "$(jq -n --argjson t "$ts" --argjson n "$transfers" '$n/$t')"
printf '  %-50s %9.3f %9.0f MB/s\n' "${names[2]} (1 GiB)" "$sd" "$(jq -n --argjson t "$sd" '1073.741824/$t')"
printf '  %-50s %9.3f %9.0f MB/s\n' "${names[3]}" "$ss" "$(jq -n --argjson t "$ss" '1073.741824/$t')"
printf '  %-50s %9.3f\n' "${names[4]}" "$st"
# Both sandboxed rows include starting and ending a sandbox once (the reference row); subtracting it
# is not sound, since part of it overlaps the work, so the ratios are of the whole runs.
echo "  tunnels/s sandboxed / direct: $(ratio "$td" "$ts")x (the whole run, the sandbox's start included)"
echo "  stdout MB/s sandboxed / direct: $(ratio "$sd" "$ss")x (the whole run; the command's stdout is the tool's own descriptor: nothing in between copies it)"
# Peak RSS of the tool itself (not of its children): VmHWM read from /proc while it runs; the
# command sleeps a moment at the end so that the last reading comes after all the work.
peak() {
  local pid hwm=0 v
  "$@" > >(cat > /dev/null) 2>/dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
    sleep 0.05
  done
  wait "$pid" || true
  jq -n --argjson k "$hwm" '$k/1024*10|round/10'
}
rss_idle=$(peak "$tool" exec -- sh -c "sleep 0.5")
rss_stream=$(peak "$tool" exec -- sh -c "$stream; sleep 0.5")
rss_tunnels=$(peak "$tool" exec --allow-host "127.0.0.1:$port" -- sh -c "$many --noproxy '' -p; sleep 0.5")
echo "  tool's peak RSS: $rss_idle MiB idle (exec -- sleep), $rss_stream MiB with 1 GiB of stdout, $rss_tunnels MiB with 200 tunnels at once"
kill "$server" 2>/dev/null || true
server=
rm -f "$body"
fi

echo
echo "raw results: $out/*.json"
