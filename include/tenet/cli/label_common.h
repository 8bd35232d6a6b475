// Shared by the `tenet label ...` commands.
#pragma once

#include <memory>
#include <string>

#include "tenet/label/db.h"
#include "tenet/label/pairwise.h"
#include "tenet/label/jobs.h"

namespace tenet::cli {

// Opens a labeling database that must already exist (a typo must not create an empty one).
Result<std::unique_ptr<label::LabelDb>> OpenExistingLabelDb(const std::string& path);
// The job named `name` in `db`.
Result<label::JobSummary> FindJob(label::LabelDb& db, const std::string& name);

}  // namespace tenet::cli

namespace tenet::cli {
// Fail() for label errors: prints the message alone ("a job named x already exists"), not the code or reason.
int FailLabel(const Status& s, bool usage = false);
}  // namespace tenet::cli
