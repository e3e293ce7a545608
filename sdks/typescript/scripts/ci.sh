#!/usr/bin/env bash
# The TypeScript SDK's CI: install from the lock file, type-check, build, test.
# Called from the repository's test script; runs from anywhere.
# The integration tests start `python -m promptops.cli.main serve` from this checkout
# (PROMPTOPS_PYTHON picks the interpreter; default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
# ESM and CommonJS builds with declarations (type-checks the core without Node's types).
# First: the package's own tests import it by name, through these builds.
node scripts/build.mjs
# Type-check the sources and the tests (this also compiles the tests into build-test/).
npx --no-install tsc -p tsconfig.test.json
node --test build-test/test/*.test.js
