#include "CFuzzerDriver.h"

// Weak, so a build without libFuzzer links and replays inputs instead of fuzzing
// (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library).
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t)) __attribute__((weak));

static sessions_fuzz_callback current_callback;

// libFuzzer's own main, linked in by -sanitize=fuzzer, refers to this symbol; the driver
// below passes the harness directly, so this only forwards.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return current_callback ? current_callback(data, size) : 0;
}

int sessions_fuzzer_run(int *argc, char ***argv, sessions_fuzz_callback callback) {
    if (!LLVMFuzzerRunDriver) return -1;
    current_callback = callback;
    return LLVMFuzzerRunDriver(argc, argv, callback);
}
