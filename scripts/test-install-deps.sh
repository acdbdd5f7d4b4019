#!/usr/bin/env bash
# Runs scripts/install-deps.sh's whole path as on a fresh Debian 12 machine
# with none of the packages installed: dpkg-query answers "not installed",
# apt-get and sudo are shims that record what they were asked, and the real
# apt-cache answers the candidate check. CI runs where the packages are
# already installed, so without this test the install path would never run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
shims="$work/shims"
mkdir -p "$shims"
calls="$work/calls"

shim() { # name, body
  printf '#!/usr/bin/env bash\n%s\n' "$2" >"$shims/$1"
  chmod +x "$shims/$1"
}
shim apt-get "echo \"apt-get \$*\" >>'$calls'"
shim sudo "echo \"sudo \$1\" >>'$calls'; exec \"\$@\""
fail() { echo "test-install-deps: $*" >&2; exit 1; }

run_install() { # extra PATH entries first; prints the script's output
  : >"$calls"
  PATH="$1:$PATH" "$root/scripts/install-deps.sh" >"$work/out" 2>&1
}

# 1. Nothing installed, as root: apt-get update, then one install of every package.
shim dpkg-query 'echo "dpkg-query: no packages found matching $3" >&2; exit 1'
if ! command -v apt-cache >/dev/null; then
  fail "apt-cache is missing; this test needs a Debian machine"
fi
run_install "$shims" || { cat "$work/out"; fail "install path failed with nothing installed"; }
grep -qx "apt-get update -q" "$calls" || fail "no apt-get update: $(cat "$calls")"
install_line="$(grep '^apt-get install' "$calls")" || fail "no apt-get install: $(cat "$calls")"
for package in llvm-22-dev libmlir-22-dev mlir-22-tools clang-22 libprotobuf-dev \
  libomp-22-dev dataset-fashion-mnist cmake ninja-build; do
  [[ " $install_line " == *" $package "* ]] || fail "apt-get install misses $package: $install_line"
done
echo "test-install-deps: nothing installed, as root: ok"

# 2. The same as a user with sudo.
shim id 'if [ "${1:-}" = -u ]; then echo 1000; else /usr/bin/id "$@"; fi'
run_install "$shims" || { cat "$work/out"; fail "install path failed through sudo"; }
grep -qx "sudo apt-get" "$calls" || fail "apt-get was not run through sudo: $(cat "$calls")"
rm "$shims/id"
echo "test-install-deps: nothing installed, through sudo: ok"

# 3. No LLVM 22 candidate (bookworm-security missing): a message naming the suite.
mkdir -p "$work/no-candidate"
printf '#!/usr/bin/env bash\nprintf "%%s:\\n  Installed: (none)\\n  Candidate: (none)\\n" "$2"\n' \
  >"$work/no-candidate/apt-cache"
chmod +x "$work/no-candidate/apt-cache"
if run_install "$work/no-candidate:$shims"; then
  fail "succeeded although libmlir-22-dev has no candidate"
fi
grep -q "bookworm-security" "$work/out" || fail "no hint about bookworm-security: $(cat "$work/out")"
if grep -q '^apt-get install' "$calls"; then fail "installed although the check failed"; fi
echo "test-install-deps: no candidate: a clear message: ok"

# 4. Everything installed: nothing is run.
shim dpkg-query 'printf "install ok installed"'
run_install "$shims" || { cat "$work/out"; fail "failed with everything installed"; }
[ ! -s "$calls" ] || fail "ran $(cat "$calls") with everything installed"
echo "test-install-deps: everything installed: nothing to do: ok"
