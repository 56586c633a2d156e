#!/usr/bin/env bash
# The console's static browser libraries, fetched at build time from the npm registry (exact
# versions and integrity hashes in services/console/package-lock.json) into the git-ignored
# services/console/static/vendor. The console never loads them from a CDN at run time.
set -euo pipefail
cd "$(dirname "$0")/../services/console"
command -v npm >/dev/null || { echo "console assets: npm is required (apt-get install -y npm)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/echarts/dist/echarts.min.js static/vendor/echarts.min.js
cp node_modules/echarts/LICENSE static/vendor/ECHARTS-LICENSE
echo "console assets: htmx $(node -p 'require("htmx.org/package.json").version'), echarts $(node -p 'require("echarts/package.json").version') in services/console/static/vendor"
