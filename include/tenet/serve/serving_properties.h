// `tenet serve --config FILE`: a serving.properties file as DJL Serving users write them
// (`key=value` lines, `#` or `!` comments), read into the serve command's flags:
//
//   option.model_id=base/                   -> --model (a local folder; nothing is downloaded)
//   option.dtype=bf16                       -> --dtype (fp32 / bf16 / fp16 / float32 / bfloat16 / auto)
//   option.max_rolling_batch_size=32        -> --max-batch
//   option.max_model_len=4096               -> --max-model-len
//   tenet.<flag>=value                      -> --<flag> (Tenet's own: tenet.port, tenet.adapter, ...;
//                                              a repeatable flag may repeat the key)
//   engine=..., option.rolling_batch=...    -> accepted and ignored (DJL's engine choice)
//
// Flags on the command line win over the file. An unknown key is an error naming it and its line.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenet/util/status.h"

namespace tenet::serve {

// The file's entries as (flag without dashes, value), in file order. InvalidArgument naming
// origin:line for a line without '=' or ':', an empty key, or a key no flag matches; `known_flags`
// lists the serve command's flag names (without dashes) that tenet.<flag> may name.
Result<std::vector<std::pair<std::string, std::string>>> ParseServingProperties(std::string_view text, const std::string& origin,
                                                                               const std::vector<std::string>& known_flags);

}  // namespace tenet::serve
