# Shared helpers for the eng/ scripts. Sourced, not run.

# Runs a command as root: directly when we are root, through sudo otherwise (non-interactively
# when there is no terminal, so CI never hangs on a password prompt).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi
  else
    echo "error: '$*' needs root and sudo is not installed; run it as root." >&2
    return 1
  fi
}

# ensure_tools "command:package" ...  installs the Debian/Ubuntu package of every missing command.
ensure_tools() {
  local missing=() spec cmd pkg
  for spec in "$@"; do
    cmd=${spec%%:*}
    pkg=${spec#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing packages (${missing[*]}) and no apt-get to install them; install them with your package manager." >&2
    return 1
  fi
  echo "==> installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# The runtime identifier of this machine, for the native (AOT) tool package.
host_rid() {
  case "$(uname -m)" in
    x86_64) echo linux-x64 ;;
    aarch64|arm64) echo linux-arm64 ;;
    *) echo "error: unsupported architecture $(uname -m)" >&2; return 1 ;;
  esac
}
