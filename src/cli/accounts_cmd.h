// `podpromo user ...` and `podpromo key ...`: the accounts from the command line (app/accounts.h). Each opens the
// database of the configuration (migrating it), acts as "cli" in the audit log, prints what it did and returns the
// process exit code (0 done; ExitCodeFor the failure otherwise, after "podpromo: <message>" on stderr).
#pragma once

#include <string>

#include "podpromo/core/config.h"

namespace podpromo {

struct UserCommand {
    std::string action;  // add, passwd, disable, link, list
    std::string name;
    std::string base_url;  // link: the service's address as users reach it ("" = http://HOST:PORT)
    bool admin = false;
    bool json = false;
};
// Passwords are read from standard input: the first line of a pipe (at most 1024 bytes), or typed twice without echo
// on a terminal.
int RunUserCommand(const ServiceConfig& config, const UserCommand& command);

struct KeyCommand {
    std::string action;  // create, revoke, list
    std::string user, scopes, name, prefix;
    bool json = false;
};
// `create` prints the key alone on standard output (it is never shown again) and what it is on standard error.
int RunKeyCommand(const ServiceConfig& config, const KeyCommand& command);

}  // namespace podpromo
