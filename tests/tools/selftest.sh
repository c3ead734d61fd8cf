#!/bin/bash
# Self-test of kdcmp and elf2classic on synthetic vmcores from synthcore.py.
#
#   tests/tools/selftest.sh [--real]
#
# Builds both tools, works in a temporary directory (removed at the end;
# KEEP=1 keeps it) and prints PASS/FAIL per check. --real also converts every
# .cache/guests/*/dump.elf with elf2classic + the system makedumpfile and
# compares the result with kdcmp. Exit status: number of failed checks
# (capped at 100).

set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
real=0
[ "${1:-}" = "--real" ] && real=1

cc_flags="-std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE"
cc $cc_flags "$here/kdcmp.c" -o "$here/kdcmp" $(pkg-config --cflags --libs libkdumpfile) || exit 100
cc $cc_flags "$here/elf2classic.c" -o "$here/elf2classic" || exit 100

K=$here/kdcmp
E=$here/elf2classic
M="python3 $here/synthcore.py"
W=$(mktemp -d "${TMPDIR:-/tmp}/kdtools.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
cd "$W" || exit 100

fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# expect RC NAME CMD... : run CMD, keep its output in $out, check the exit code
expect() {
	local want=$1 name=$2
	shift 2
	out=$("$@" 2>&1)
	local rc=$?
	if [ "$rc" = "$want" ]; then pass "$name"; else
		fail "$name (exit $rc, wanted $want)"; printf '%s\n' "$out" | sed 's/^/    /'; fi
}
# grepq NAME PATTERN : $out must contain PATTERN
grepq() {
	if printf '%s\n' "$out" | grep -q -- "$2"; then pass "$1"; else
		fail "$1 (no '$2')"; printf '%s\n' "$out" | sed 's/^/    /'; fi
}

have_mdf=0
command -v makedumpfile >/dev/null && have_mdf=1

# --- kdcmp basics ----------------------------------------------------------
$M --layout qemu q.elf
$M --layout qemu --flip 0x200123 qf.elf
expect 0 "kdcmp self" $K q.elf q.elf
grepq "kdcmp self counts" "pages: ref=16319 cand=16319 equal=16319 differ=0 ref-only=0 (zero=0) cand-only=0 (zero=0) errors=0"
expect 1 "kdcmp flipped byte" $K q.elf qf.elf
grepq "kdcmp flipped byte counts" "equal=16318 differ=1 "
grepq "kdcmp flipped byte pfn" "differ    pfn 0x200: 1 byte(s) differ, first at +0x123"
expect 2 "kdcmp unreadable file" $K q.elf "$here/synthcore.py"
expect 2 "kdcmp usage" $K q.elf
head -c 30000000 q.elf > qt.elf
expect 2 "kdcmp truncated ELF" $K q.elf qt.elf
grepq "truncated ELF message" "beyond end of file"
expect 0 "kdcmp pages-only" $K --pages-only --kept q.kept q.elf
[ "$(cat q.kept)" = "$(printf '0x0-0x9e\n0x100-0x3fef\n0x4100-0x412f')" ] &&
	pass "kdcmp kept ranges" || fail "kdcmp kept ranges: $(cat q.kept)"
expect 0 "kdcmp --raw-elf pages-only" $K --pages-only --raw-elf --no-pagemap --kept raw.kept q.elf
grepq "kdcmp --raw-elf shows the zero page before each PT_LOAD" "present=16321 (zero=3266)"

# ref-only / cand-only policy
# with --mb 62 block 1 ends with pfns 0x3deb..0x3def; only 0x3def is all zero
$M --layout qemu --mb 62 b.elf
$M --layout qemu --mb 62 --drop-tail 5 d5.elf
$M --layout qemu --mb 62 --drop-tail 1 d1.elf
expect 1 "ref-only fails by default" $K b.elf d1.elf
expect 0 "ref-only zero allowed" $K --allow-missing-zero b.elf d1.elf
expect 1 "ref-only non-zero not allowed by --allow-missing-zero" $K --allow-missing-zero b.elf d5.elf
grepq "ref-only counts" "ref-only=5 (zero=1)"
expect 0 "ref-only allowed by --allow-missing" $K --allow-missing b.elf d5.elf
expect 0 "cand-only zero accepted by default" $K d1.elf b.elf
grepq "cand-only counts" "cand-only=1 (zero=1)"
expect 1 "cand-only zero fails with --strict-extra" $K --strict-extra d1.elf b.elf
expect 1 "cand-only non-zero fails by default" $K d5.elf b.elf
expect 0 "cand-only allowed by --allow-extra" $K --allow-extra d5.elf b.elf

# --- elf2classic -----------------------------------------------------------
expect 0 "elf2classic qemu layout" $E q.elf c.elf
out=$(readelf -h c.elf)
grepq "classic e_phoff" "Start of program headers: *64 "
grepq "classic e_ehsize" "Size of this header: *64 "
grepq "classic no sections" "Number of section headers: *0"
expect 0 "kdcmp input vs elf2classic output" $K q.elf c.elf
for m in sendfile rw; do
	ELF2CLASSIC_COPY=$m $E q.elf c-$m.elf && cmp -s c.elf c-$m.elf &&
		pass "elf2classic $m fallback identical" || fail "elf2classic $m fallback"
done
expect 0 "elf2classic --align 1" $E --align 1 q.elf c1.elf
expect 0 "kdcmp packed output" $K q.elf c1.elf

for v in "--bits 32" "--bits 32 --endian big" "--endian big" "--odd" "--xnum" \
	 "--xnum --bits 32 --endian big"; do
	for l in kdump qemu; do
		n=v$(echo "$v $l" | tr -dc 'a-z0-9')
		$M --mb 8 --layout $l $v $n.elf
		if $E $n.elf $n.c.elf && $K $n.elf $n.c.elf >/dev/null; then
			pass "elf2classic round trip $v $l"
		else
			fail "elf2classic round trip $v $l"
		fi
	done
done
out=$(readelf -h vxnumkdump.c.elf 2>&1)
grepq "PN_XNUM output keeps section 0" "Number of program headers: *65535 (65539)"

# bad input: exit 1, no output left behind
printf 'hello' > bad1
head -c 100 q.elf > bad2
head -c 1000000 q.elf > bad3
for b in bad1 bad2 bad3; do
	expect 1 "elf2classic rejects $b" $E $b out.elf
	[ -e out.elf ] && fail "elf2classic left out.elf for $b"
done
expect 1 "elf2classic IN == OUT" $E q.elf q.elf

# --- system makedumpfile on elf2classic output --------------------------------
if [ $have_mdf = 1 ]; then
	expect 1 "makedumpfile rejects the qemu layout" makedumpfile -f -c -d 0 q.elf x.kdump
	expect 0 "makedumpfile accepts elf2classic output" makedumpfile -f -c -d 0 c.elf c.kdump
	expect 0 "kdcmp elf vs makedumpfile kdump" $K --kept c.kept q.elf c.kdump
	grepq "kdcmp elf vs kdump counts" "equal=16319 differ=0 ref-only=0"
	makedumpfile -F -c -d 1 c.elf > c.flat 2>/dev/null
	expect 0 "kdcmp elf vs makedumpfile flattened" $K -v --kept f.kept q.elf c.flat
	grepq "flattened file detected" "flattened ("
	cmp -s c.kept f.kept && pass "kept lists kdump == flattened" || fail "kept lists differ"
	expect 0 "kdcmp --no-pagemap pages-only" $K --pages-only --no-pagemap --kept n.kept c.kdump
	cmp -s c.kept n.kept && pass "file.pagemap skipping == exhaustive" || fail "pagemap skipping differs"
	head -c 5000 c.flat > t.flat
	expect 2 "kdcmp truncated flattened" $K q.elf t.flat
	head -c $(( $(stat -c %s c.kdump) * 3 / 4 )) c.kdump > t.kdump
	expect 1 "kdcmp truncated kdump (read(2): errors, no crash)" $K q.elf t.kdump
	grepq "truncated kdump reports errors" "errors=[1-9]"
	expect 2 "kdcmp --mmap truncated kdump (SIGBUS caught)" $K --mmap q.elf t.kdump
	grepq "SIGBUS named" "fatal signal SIGBUS .* t.kdump"
	$E qf.elf qfc.elf && makedumpfile -f -c -d 0 qfc.elf qf.kdump >/dev/null 2>&1
	expect 1 "kdcmp elf vs kdump of flipped elf" $K q.elf qf.kdump
	grepq "kdump differ" "differ=1 "
else
	echo "SKIP makedumpfile checks (no makedumpfile)"
fi

# --- real guest dumps ----------------------------------------------------------
if [ $real = 1 ]; then
	for d in "$root"/.cache/guests/*/dump.elf; do
		[ -e "$d" ] || { echo "SKIP no $root/.cache/guests/*/dump.elf"; break; }
		g=$(basename "$(dirname "$d")")
		expect 0 "real $g: elf2classic" $E "$d" r.elf
		expect 0 "real $g: kdcmp dump.elf vs classic" $K "$d" r.elf
		if [ -e "${d%.elf}.kdump-zlib" ]; then
			expect 0 "real $g: kdcmp dump.elf vs QEMU kdump-zlib" $K "$d" "${d%.elf}.kdump-zlib"
			printf '%s\n' "$out" | grep '^pages:'
		fi
		if [ $have_mdf = 1 ]; then
			expect 0 "real $g: makedumpfile on classic" makedumpfile -f -c -d 0 r.elf r.kdump
			# with a VMCOREINFO note makedumpfile keeps only the kernel's
			# RAM (pfns below its max_mapnr), so pages may be missing
			expect 0 "real $g: kdcmp dump.elf vs makedumpfile kdump" $K --allow-missing "$d" r.kdump
			printf '%s\n' "$out" | grep '^pages:'
			grepq "real $g: no page differs" " differ=0 "
		fi
		rm -f r.elf r.kdump
	done
fi

echo "failed: $fails"
[ $fails -gt 100 ] && fails=100
exit $fails
