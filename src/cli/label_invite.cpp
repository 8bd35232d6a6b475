// `tenet label invite`: a one-time invitation link for an annotator.
#include <CLI/CLI.hpp>
#include <iostream>

#include "tenet/cli/commands.h"
#include "tenet/cli/label_common.h"
#include "tenet/label/accounts.h"
#include "tenet/label/jobs.h"

namespace tenet::cli {

RunFn AddLabelInviteCommand(CLI::App& sub) {
  struct Args {
    std::string db, email, team, expires = "7d", base_url = "http://127.0.0.1:8080";
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database (created if missing)")->required();
  sub.add_option("--email", a->email, "The annotator's email")->required();
  sub.add_option("--team", a->team, "Team they join (created if missing)");
  sub.add_option("--expires", a->expires, "The link stops working after this long")->capture_default_str();
  sub.add_option("--base-url", a->base_url, "The portal's address as annotators reach it")->capture_default_str();
  sub.footer(R"(Prints a one-time link on stdout; whoever opens it sets a password and joins the team.
Someone who already has an account is added to the team at once (no link).

Example:
  tenet label invite --db labels.db --email ana@example.com --team bank-reviewers)");
  return [a]() {
    auto ttl = label::ParseDuration(a->expires);
    if (!ttl.ok()) return Fail(ttl.status().WithContext("--expires"), /*usage=*/true);
    auto db = label::LabelDb::Open(a->db);
    if (!db.ok()) return Fail(db.status());
    if (!a->team.empty()) {  // someone who already has an account just joins the team
      auto existing = label::Accounts(**db).AddExistingToTeam(a->email, a->team);
      if (!existing.ok()) return FailLabel(existing.status());
      if (*existing) {
        std::cerr << "tenet label invite: " << a->email << " already has an account; added to team " << a->team << "\n";
        return kExitOk;
      }
    }
    auto inv = label::Accounts(**db).Invite(a->email, a->team, *ttl);
    if (!inv.ok()) return FailLabel(inv.status());
    std::cout << a->base_url << "/invite/" << inv->second << std::endl;
    return kExitOk;
  };
}

}  // namespace tenet::cli
