#include <stdio.h>
#include <string.h>

#include "unit.h"

int unit_failures, unit_checks;

#define TESTS(X) X(test_flat_replay) X(test_flat_truncated) X(test_x86_walk_leaves) \
	X(test_x86_walk_5level_sme) X(test_sections_extreme) X(test_vmcoreinfo_values) \
	X(test_notes) X(test_bitmap_and_limit) X(test_pb_negative_2m) X(test_pb_5level_4k) \
	X(test_pb_pti_user_cr3) X(test_pb_1g_leaf) X(test_pb_no_kernel) \
	X(test_pb_two_vmcoreinfo_copies) X(test_pb_override_and_disagreement) \
	X(test_pageclass_61) X(test_pageclass_66_69) X(test_pageclass_612_pgty) \
	X(test_pageclass_49_u16) X(test_dmesg_prb) X(test_dmesg_log_buf) \
	X(test_incompressible_pages) X(test_cpool_same_bytes)

#define DECLARE(name) void name(void);
TESTS(DECLARE)
#define ENTRY(name) { #name, name },
static const struct unit_test tests[] = { TESTS(ENTRY) };

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		int before = unit_failures;
		tests[i].fn();
		if (unit_failures == before) {
			passed++;
			printf("ok - %s\n", tests[i].name);
		} else {
			failed++;
			printf("not ok - %s\n", tests[i].name);
		}
	}
	printf("# unit: %d checks\n", unit_checks);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
