# Shared by the tools/*.sh scripts: messages prefixed with the script's name, and running a
# command as root (directly, through password-less sudo, or a clear refusal). Source it after
# setting SCRIPT_NAME.

say() { printf '%s: %s\n' "${SCRIPT_NAME:-$(basename "$0")}" "$*" >&2; }
die() {
  say "$*"
  exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }

# Runs a command as root: directly, through password-less sudo, or not at all.
as_root() {
  if is_root; then
    "$@"
  elif sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    die "needs root for: $* (run as root, or install it once and run again)"
  fi
}
