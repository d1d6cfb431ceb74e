#!/usr/bin/env bash
# npm run test:wordpress: the WordPress plugin (wordpress/wp-edge-images)
# against a real WordPress. Uses Debian's packages and installs nothing:
#   apt-get install -y --no-install-recommends $(scripts/test-wordpress.sh --packages)
# (.ci/run does that). The test (e2e-wordpress/) starts its own MariaDB
# (datadir in a temp dir, socket only), PHP's built-in server on 127.0.0.1,
# wrangler dev and Chromium, and stops them all; nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="wordpress php-cli php-gd php-mysql php-curl php-xml php-mbstring mariadb-server php-codesniffer"
if [ "${1:-}" = "--packages" ]; then
	echo "$PACKAGES"
	exit 0
fi

missing=()
for pkg in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "test:wordpress needs Debian packages that are missing: ${missing[*]}" >&2
	echo "install them with: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

# Every PHP file parses.
status=0
while IFS= read -r -d '' file; do
	php -l "$file" >/dev/null || status=1
done < <(find wordpress e2e-wordpress -name '*.php' -print0)
[ "$status" -eq 0 ] || { echo "php -l failed" >&2; exit 1; }
echo "php -l: every PHP file parses"

# WordPress-style checks from php-codesniffer's own sniffs (WPCS itself is in neither Debian nor npm).
phpcs --standard=wordpress/phpcs.xml.dist
echo "phpcs: wordpress/phpcs.xml.dist passes"

rm -f test-results/wordpress.json
status=0
npx vitest run -c e2e-wordpress/vitest.config.ts || status=$?
if [ -f test-results/wordpress.json ]; then
	node scripts/test-summary.mjs wordpress || status=1
fi
exit "$status"
