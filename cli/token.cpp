// otaledger token create --data DIR --name N --role R: makes an API token for
// the operators' API and prints it once (only its SHA-256 is stored, in the
// data directory's views; api/auth.hpp). Run it while the server is stopped:
// the data directory is open in one process at a time. A missing directory is
// created, so the first admin token can exist before the first `serve`.
#include "api/auth.hpp"
#include "cli/commands.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <iostream>
#include <optional>
#include <string>

namespace otaledger::cli {

namespace {

constexpr const char* token_help =
    R"(usage: otaledger token create --name NAME --role ROLE [--data DIR]

Creates an API token for the operators' API and prints it once; only its
SHA-256 is kept. The server must not be running on DIR.

  --name NAME  who the token is for (letters, digits, _ - .; at most 64);
               events record the principal "operator:NAME"
  --role ROLE  admin, operator or viewer (viewers cannot change anything)
  --data DIR   data directory. Default: ./data
)";

int usage(const std::string& msg) {
  std::cerr << "otaledger token: " << msg << "\n" << token_help;
  return 2;
}

} // namespace

int token_main(int argc, char** argv) {
  std::optional<std::string> name, role_text;
  std::string data = "./data";
  if (argc < 2) return usage("expected the action 'create'");
  std::string action = argv[1];
  if (action == "--help" || action == "-h") {
    std::cout << token_help;
    return 0;
  }
  if (action != "create") return usage("unknown action '" + action + "'");
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--help" || s == "-h") {
      std::cout << token_help;
      return 0;
    }
    if (s != "--name" && s != "--role" && s != "--data") return usage("unknown option '" + s + "'");
    if (i + 1 >= argc) return usage(s + " needs a value");
    std::string v = argv[++i];
    if (s == "--name")
      name = v;
    else if (s == "--role")
      role_text = v;
    else
      data = v;
  }
  if (!name) return usage("--name is required");
  if (!role_text) return usage("--role is required");
  auto r = api::role_from_name(*role_text);
  if (!r) return usage("--role must be admin, operator or viewer");

  storage::options o;
  o.path = data;
  auto db = storage::open_database(o);
  if (!db) {
    std::cerr << "otaledger token: cannot open the data directory '" << data
              << "': " << storage::error_detail() << "\n";
    return 1;
  }
  api::token_store tokens{*db.value().views};
  auto token = tokens.create(*name, *r);
  if (!token) {
    std::cerr << "otaledger token: " << token.error().message() << " (name '" << *name << "')\n";
    return 1;
  }
  std::cout << token.value() << "\n";
  std::cerr << "token for operator:" << *name << " (" << *role_text
            << ") created; it is shown only this once\n";
  return 0;
}

} // namespace otaledger::cli
