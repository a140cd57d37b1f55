#!/usr/bin/env bash
# Installs every Debian package that mailmoat's build, tests and benchmarks need.
# Idempotent: packages already present are skipped by apt. Run as root (or with sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PKGS=(
  # build
  build-essential cmake ninja-build pkg-config ccache git
  libboost1.81-dev libssl-dev openssl libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev
  libgmime-3.0-dev libgumbo-dev libhyperscan-dev libpcre2-dev libpsl-dev libicu-dev publicsuffix
  libmagic-dev libarchive-dev libclamav-dev clamav clamav-daemon
  libc-ares-dev libopendkim-dev libargon2-dev libsodium-dev
  # tests and benchmarks
  swaks libnet-ssleay-perl libio-socket-ssl-perl python3 python3-aiosmtpd postfix procps
  clamav-testfiles clamdscan p7zip-full zip unzip sharutils libarchive-tools
  opendkim-tools dnsmasq-base knot knot-dnsutils dnsutils python3-dnspython
  libspf2-dev libopendmarc-dev   # test oracles only (SPF/DMARC differential tests), never linked into mailmoat
  # the web console's browser tests: Debian's chromium (driven by playwright-core) and CJK fonts
  chromium fonts-noto-cjk
)
# The console is built with Node and npm: Debian's only when none is installed (a newer Node,
# e.g. 20 from NodeSource, is kept).
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Postfix is only a test peer: never let its package configure a system MTA.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# The console's npm dependencies (exact versions from web/package-lock.json; playwright-core
# downloads no browser: the tests use Debian's chromium).
WEB="$(cd "$(dirname "$0")/.." && pwd)/web"
if [ -f "$WEB/package-lock.json" ]; then
  if [ ! -f "$WEB/node_modules/.package-lock.json" ] || [ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
    (cd "$WEB" && npm ci --no-audit --no-fund)
  else
    echo "setup: web/node_modules up to date"
  fi
fi
