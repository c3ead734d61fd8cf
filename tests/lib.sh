# Shared helpers for the shell test suites: TAP-like lines and counters.
# Each suite sources this, calls ok/not_ok (or check), and ends with finish.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAKEDUMPFILE=${MAKEDUMPFILE:-$ROOT/makedumpfile}
MAKEDUMPFILE_ASAN=${MAKEDUMPFILE_ASAN:-$ROOT/build/makedumpfile-asan}
MKVMCORE=${MKVMCORE:-$ROOT/tests/fixtures/mkvmcore}
KDCMP=${KDCMP:-$ROOT/tests/tools/kdcmp}
ELF2CLASSIC=${ELF2CLASSIC:-$ROOT/tests/tools/elf2classic}
CACHE=${MKDF_CACHE:-$ROOT/.cache}
PASSED=0
FAILED=0
SKIPPED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "ok - # skip $*"; }

# check NAME CMD...: run CMD quietly, keep its output for the report on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
	fi
}

# A scratch directory removed at exit.
scratch() {
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/mkdf-test.XXXXXX")
	trap 'rm -rf "$SCRATCH"' EXIT
}

finish() {
	echo "# $(basename "$0"): $PASSED passed, $FAILED failed, $SKIPPED skipped"
	# The machine-readable tally for tests/run-all.
	if [ -n "${MKDF_TALLY:-}" ]; then
		echo "$PASSED $FAILED $SKIPPED" >> "$MKDF_TALLY"
	fi
	[ "$FAILED" -eq 0 ]
}
# Debian's makedumpfile, the upstream reference.
SYSTEM_MAKEDUMPFILE=${SYSTEM_MAKEDUMPFILE:-/usr/bin/makedumpfile}
