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
RunFn AddServeCommand(CLI::App& sub);
RunFn AddTrainDpoCommand(CLI::App& sub);
RunFn AddTrainSftCommand(CLI::App& sub);
RunFn AddEvalDpoCommand(CLI::App& sub);
RunFn AddCompareCommand(CLI::App& sub);
RunFn AddMergeCommand(CLI::App& sub);
RunFn AddLabelServeCommand(CLI::App& sub);
RunFn AddLabelAdminLinkCommand(CLI::App& sub);
RunFn AddLabelJobCreateCommand(CLI::App& sub);
RunFn AddLabelJobListCommand(CLI::App& sub);
RunFn AddLabelJobPauseCommand(CLI::App& sub);
RunFn AddLabelJobResumeCommand(CLI::App& sub);
RunFn AddLabelInviteCommand(CLI::App& sub);
RunFn AddLabelStatusCommand(CLI::App& sub);
RunFn AddLabelExportCommand(CLI::App& sub);
RunFn AddLabelResultsCommand(CLI::App& sub);
}  // namespace tenet::cli
