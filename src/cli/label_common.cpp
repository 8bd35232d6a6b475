// Helpers of the `tenet label ...` commands. See tenet/cli/label_common.h.
#include "tenet/cli/label_common.h"

#include <iostream>

#include "tenet/cli/command.h"

#include "tenet/util/file.h"

namespace tenet::cli {

Result<std::unique_ptr<label::LabelDb>> OpenExistingLabelDb(const std::string& path) {
  if (!FileExists(path)) return Status::NotFound(path, "no labeling database here (label job create or label serve makes one)");
  return label::LabelDb::Open(path);
}

Result<label::JobSummary> FindJob(label::LabelDb& db, const std::string& name) {
  auto j = label::Jobs(db).GetByName(name);
  if (!j.ok()) return Status::NotFound(db.path(), "no job named '" + name + "'");
  return j;
}

}  // namespace tenet::cli

namespace tenet::cli {
int FailLabel(const Status& s, bool usage) {
  // The store's messages say what is wrong without the code's name ("no job with id 3").
  if (s.reason().empty()) return Fail(s, usage);
  std::cerr << "tenet: error: " << s.message() << "\n";
  return usage && s.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitError;
}
}  // namespace tenet::cli
