#!/usr/bin/env bash
# Per-command cost of the sandbox, measured side by side in one run on this machine:
#   bare `true`, bubblewrap alone with the very mounts the tool uses, `dotnet-sandbox exec -- true`
#   (the native tool), and `dotnet sandbox exec -- true` (through the SDK's dispatcher).
# Reports medians and ratios against the bare command. Usage: eng/bench.sh [runs]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
root=$(repo_root)
cd "$root"
runs=${1:-50}

ensure_tools bwrap:bubblewrap hyperfine:hyperfine jq:jq
command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || ensure_tools clang:clang

rid=$(host_rid)
out="$root/artifacts/bench"
echo "==> publishing the native tool to $out"
dotnet publish src/SandboxedBuild.Cli -c Release -r "$rid" -o "$out/tool" -nologo -v:q >/dev/null
tool="$out/tool/dotnet-sandbox"

work=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# The exact bubblewrap command line the tool would run, flattened to one line for hyperfine.
"$tool" exec --print-policy --format bwrap -- true | sed 's/ \\$//' | tr '\n' ' ' > "$out/bwrap-command.txt"

commands=(
  "true"
  "$(cat "$out/bwrap-command.txt")"
  "$tool exec -- true"
)
names=("bare true" "bwrap alone (same mounts)" "dotnet-sandbox exec -- true")
if command -v dotnet-sandbox >/dev/null 2>&1 || [ -x "$HOME/.dotnet/tools/dotnet-sandbox" ]; then
  export PATH="$PATH:$HOME/.dotnet/tools"
  commands+=("dotnet sandbox exec -- true" "dotnet sandbox --version")
  names+=("dotnet sandbox exec -- true (installed tool, via the SDK dispatcher)" "dotnet sandbox --version (the dispatcher alone, no sandbox)")
fi

args=()
for i in "${!commands[@]}"; do args+=(-n "${names[$i]}" "${commands[$i]}"); done
hyperfine -N --warmup 5 --runs "$runs" --export-json "$out/exec.json" "${args[@]}" >/dev/null

echo
echo "machine: $(nproc) cores, $(uname -r), bubblewrap $(bwrap --version | awk '{print $2}'), runs: $runs each"
printf '%-70s %10s %10s\n' "command" "median ms" "ratio"
base=$(jq '.results[0].median' "$out/exec.json")
jq -r --argjson base "$base" '.results[] | [.command, (.median*1000), (.median/$base)] | @tsv' "$out/exec.json" |
  while IFS=$'\t' read -r name median ratio; do
    printf '%-70s %10.2f %9.1fx\n' "$name" "$median" "$ratio"
  done
bw=$(jq '.results[1].median' "$out/exec.json")
sb=$(jq '.results[2].median' "$out/exec.json")
echo
echo "dotnet-sandbox exec over bubblewrap alone: $(jq -n --argjson a "$sb" --argjson b "$bw" '($a-$b)*1000*100|round/100') ms, $(jq -n --argjson a "$sb" --argjson b "$bw" '$a/$b*100|round/100')x"
echo "raw results: $out/exec.json"
