// One declaration per command; definitions in src/cli/<command>.cpp. See command.h.
#pragma once

#include "tenet/cli/command.h"

namespace tenet::cli {
RunFn AddInfoCommand(CLI::App& sub);
RunFn AddModelInitCommand(CLI::App& sub);
RunFn AddTokenizeCommand(CLI::App& sub);
RunFn AddDetokenizeCommand(CLI::App& sub);
RunFn AddTemplateCommand(CLI::App& sub);
RunFn AddScoreCommand(CLI::App& sub);
RunFn AddGenerateCommand(CLI::App& sub);
RunFn AddChatCommand(CLI::App& sub);
RunFn AddTrainDpoCommand(CLI::App& sub);
RunFn AddTrainSftCommand(CLI::App& sub);
RunFn AddEvalDpoCommand(CLI::App& sub);
RunFn AddMergeCommand(CLI::App& sub);
}  // namespace tenet::cli
