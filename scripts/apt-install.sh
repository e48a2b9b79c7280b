#!/usr/bin/env bash
# scripts/apt-install.sh WHO PACKAGE...: installs Debian's PACKAGEs (as root, or with
# sudo), saying so on standard error as WHO. With no package, does nothing. The project's
# other scripts work out what is missing and call this once.
set -euo pipefail
who=$1
shift
[ "$#" -gt 0 ] || exit 0
echo "$who: installing Debian's $*" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
