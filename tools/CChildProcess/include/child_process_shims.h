#ifndef CHILD_PROCESS_SHIMS_H
#define CHILD_PROCESS_SHIMS_H

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close on exec, so no other child inherits them.
int child_process_pipe(int fds[2]);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34+): the child closes every descriptor
/// from `from` upwards, whatever the parent had open.
int child_process_add_close_from(posix_spawn_file_actions_t *actions, int from);

#endif
