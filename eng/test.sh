#!/usr/bin/env bash
# Installs what the tests need, then runs every test. Run as root, the integration tests also run
# every sandbox as an unprivileged user they create; run as a normal user, they run as that user.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
root=$(repo_root)
cd "$root"

# bubblewrap: the sandbox. socat: sockets in escape and must-work tests. setpriv/script (util-linux,
# bsdutils): run as another user, on a pseudo-terminal. git, pgrep: repositories, leftover processes.
# curl: requests through the egress proxy.
ensure_tools bwrap:bubblewrap socat:socat setpriv:util-linux script:bsdutils git:git pgrep:procps curl:curl

results="$root/artifacts/TestResults"
rm -rf "$results"

status=0
dotnet test SandboxedBuild.sln -c Release --results-directory "$results" --logger trx --logger "console;verbosity=normal" </dev/null || status=$?

# One closing line over all test projects.
passed=0 failed=0 total=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$((total + $(get total))); passed=$((passed + $(get passed))); failed=$((failed + $(get failed)))
done
skipped=$((total - passed - failed))
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$total" -eq 0 ]; then
  echo "error: no tests ran" >&2
  exit 1
fi
exit $status
