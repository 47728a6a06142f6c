// Declarations glibc only makes visible with _GNU_SOURCE, which Swift's Glibc module lacks.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include "child_process_shims.h"

int child_process_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int child_process_add_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
