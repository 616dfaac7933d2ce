#!/usr/bin/env bash
# Install the Debian packages the planner needs, only those that are missing.
#   libpango-1.0-0, libpangoft2-1.0-0: WeasyPrint (PDF day sheets)
#   fonts-dejavu-core: a font with Indonesian glyphs for PDFs
#   chromium, chromium-driver: headless browser tests (Playwright drives /usr/bin/chromium)
#   poppler-utils: pdftoppm, to render the README's day-sheet picture
#   python3-venv: only when $PYTHON (default python3) cannot make a venv (Debian's own python3)
set -euo pipefail
pkgs=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core chromium chromium-driver poppler-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
"${PYTHON:-python3}" -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "sysdeps: please install: ${missing[*]}" >&2; exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "sysdeps: installing ${missing[*]}"
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >/dev/null
