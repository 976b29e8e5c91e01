// `podpromo serve` and `podpromo migrate`.
#pragma once

#include "podpromo/core/config.h"

namespace podpromo {

// Runs the API, the workers and the queue until SIGTERM/SIGINT; prints the URL when listening. Returns the
// process exit code (0 after a graceful stop, 1 when the service cannot start, 2 for bad configuration).
int RunServe(ServiceConfig config);
// Applies the database migrations and exits: 0 done, 1 failed.
int RunMigrate(const ServiceConfig& config);

}  // namespace podpromo
