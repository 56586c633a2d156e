#!/usr/bin/env bash
# The browser the console's tests drive (tests/browser): Debian's Chromium, with CJK fonts so
# that Chinese pages render (and their screenshots are readable). Installed when missing; the
# tests then fail loudly rather than skip if it is still not there.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
if [ ${#need[@]} -eq 0 ]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) and Noto CJK fonts present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "browser: ${need[*]} missing; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "browser: installing ${need[*]} (apt)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
/usr/bin/chromium --version
