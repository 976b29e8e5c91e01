// `podpromo serve`, `podpromo worker`, `podpromo migrate` and `podpromo cleanup`.
#pragma once

#include <string>

#include "podpromo/core/config.h"
#include "podpromo/core/status.h"

namespace podpromo {

// Prints "podpromo: <message>" to stderr and returns the exit code for `st` (ExitCodeFor, core/status.h).
int ReportFailure(const Status& st);

// The service's address from the configuration ("http://127.0.0.1:8000" for HOST 0.0.0.0), and a one-time sign-in link
// at it (app/accounts.h).
std::string ServiceUrl(const ServiceConfig& config, int port = 0);
std::string SignInLink(const std::string& base_url, const std::string& token);

// Runs the API, the workers and the queue until SIGTERM/SIGINT; prints the URL when listening. Returns the
// process exit code (0 after a graceful stop, 1 when the service cannot start, 2 for bad configuration).
int RunServe(ServiceConfig config);
// One cleanup pass over the data directory (see files/cleanup.h), printing its report: 0 done, 1 when it could
// not run (the database, the lock). Failed actions are listed with their reasons.
int RunCleanupCommand(const ServiceConfig& config, bool dry_run, bool remove_orphans, bool json);
// Runs workers only (`podpromo worker`): config.max_concurrent_jobs of them take jobs from the shared database and
// write to the shared storage root, with a status port (status_host:status_port, 0 for any free one) serving /livez and
// /metrics. Prints one line with the port when working. On SIGTERM/SIGINT it drains: no new claims, running jobs go
// back to the queue at their next check. Exit codes as RunServe's.
int RunWorker(ServiceConfig config, const std::string& status_host, int status_port);
// Applies the database migrations and exits: 0 done, 1 failed. With `from` (a database URL), then copies every row of
// that database (migrated first) into the configured one, which must hold none: 0 done, printing each table's count;
// 1 when either cannot be opened, the target is not empty, `from` is the target itself, or the copy failed (the target
// then holds nothing of it); 2 for a URL that is not a database URL.
int RunMigrate(const ServiceConfig& config, const std::string& from = "");

}  // namespace podpromo
