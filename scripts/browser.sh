#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/browser): Debian's chromium package,
# driven by Playwright for Python with executable_path=/usr/bin/chromium (Playwright's
# own browser download is never used). Installs it when missing and this shell may
# (root with apt-get); otherwise says why, and the browser tests skip with that reason.
#
#   scripts/browser.sh install   # make sure /usr/bin/chromium exists
set -euo pipefail

CHROMIUM=${MOVIEMIND_CHROMIUM:-/usr/bin/chromium}

case "${1:-install}" in
install)
    if [ -x "$CHROMIUM" ]; then
        exit 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "browser: $CHROMIUM is missing and cannot be installed here (needs root and apt-get);" \
            "the browser tests will skip" >&2
        exit 1
    fi
    echo "browser: installing chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    ;;
*)
    echo "usage: $0 install" >&2
    exit 2
    ;;
esac
