// Ctrl-C and its kin: the signals by which a terminal (or `weft cancel`, or a supervisor) asks a
// run to stop.
//
// Commands that run pipelines install handlers for SIGINT, SIGTERM, SIGQUIT and SIGHUP (closing
// the terminal or the tmux session). SIGHUP is left alone when it is ignored at start, so that
// `nohup weft run ...` keeps running. The handlers only count: long operations (hashing and
// copying files, waiting for steps) check Interrupted() and stop with a kCanceled Status; event
// loops poll InterruptFd(), which becomes readable at each signal.
//
// Signals belong to the whole process, so this is the one piece of process-wide state in weft;
// only the handlers change it.
#pragma once

#include "base/status.h"

namespace weft {

// Installs the handlers (idempotent). Until it is called, Interrupted() stays false and the
// signals keep their default action.
void InstallInterruptHandlers();

// How many of those signals have arrived: 1 means stop, 2 or more means stop now (a second Ctrl-C
// skips the grace period steps get to exit).
int InterruptCount();
inline bool Interrupted() { return InterruptCount() > 0; }

// A file descriptor that is readable once a signal has arrived (-1 before the handlers are
// installed). Reading it is not needed: the count is the state.
int InterruptFd();

// Empties InterruptFd (for an event loop about to poll it again); true when a signal had arrived
// since it was last emptied.
bool DrainInterruptFd();

// The status long operations return when they stop because of an interrupt ("interrupted
// while hashing ...").
Status InterruptedStatus(const char* during);

}  // namespace weft
