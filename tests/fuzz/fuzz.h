/*
 * fuzz.h: what every libFuzzer harness shares. Each harness is its own
 * program and includes this once.
 */
#ifndef SGW_FUZZ_H
#define SGW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* A UBSan report is a finding: stop at the first, so libFuzzer keeps it. */
const char *
__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* A broken invariant is a crash, which libFuzzer records with its input. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

#endif
