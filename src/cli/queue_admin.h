// Queue administration shared by the live server (control socket) and the CLI working on the
// spool directly when no server runs. args: {"queue", "list"|"show"|"flush"|"hold"|"release"|"delete", ...}.
#pragma once
#include <string>
#include <vector>

#include "queue/manager.h"
#include "queue/spool.h"

namespace mm::cli {

// live may be null (offline): then state changes are written to the spool for the next start.
Result<std::string> queue_command(queue::Spool&, const std::vector<std::string>& args,
                                  queue::QueueManager* live);

}  // namespace mm::cli
