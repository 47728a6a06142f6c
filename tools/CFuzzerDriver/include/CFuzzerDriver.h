#ifndef C_FUZZER_DRIVER_H
#define C_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// The harness libFuzzer calls for each input.
typedef int (*sessions_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer with `callback` as the target and returns its exit status; -1 when the binary
/// was built without `-sanitize=fuzzer` (libFuzzer is not linked in).
int sessions_fuzzer_run(int *argc, char ***argv, sessions_fuzz_callback callback);

#endif
