// A job's status for the requester: progress, per-annotator counts and times, and agreement
// (per item, per job, and each annotator's agreement with the others on the items they shared),
// so contested items and annotators who disagree with everyone stand out.
#pragma once

#include <nlohmann/json.hpp>

#include "tenet/label/annotations.h"

namespace tenet::label {

// JobStatus JSON (docs/label-api.md): the job summary plus "annotators", "agreement", "items"
// (sorted by lowest agreement first). Agreement is the mean over the job's dimensions.
nlohmann::json JobStatusJson(const JobAnnotations& a);

}  // namespace tenet::label
