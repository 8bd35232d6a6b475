// tenet: the command-line entry point. Holds only the command table; each command lives in its
// own file (src/cli/<command>.cpp). See tenet/cli/command.h for the conventions.
#include <iterator>

#include "tenet/cli/command.h"
#include "tenet/cli/commands.h"

namespace {
using tenet::cli::CommandSpec;
const CommandSpec kCommands[] = {
    {"info", "Show the build, threads, BLAS and (with --model) a model's architecture and memory", tenet::cli::AddInfoCommand},
    {"model init", "Write a random Llama model of a named preset as a complete HF folder", tenet::cli::AddModelInitCommand},
    {"tokenize", "Turn text into token ids with a tokenizer.json", tenet::cli::AddTokenizeCommand},
    {"detokenize", "Turn token ids back into text", tenet::cli::AddDetokenizeCommand},
    {"template", "Render a chat with the tokenizer's chat_template", tenet::cli::AddTemplateCommand},
    {"score", "Sum the log-probabilities of completions given prompts", tenet::cli::AddScoreCommand},
    {"generate", "Generate N candidate answers per question (JSONL, resumable)", tenet::cli::AddGenerateCommand},
    {"chat", "Chat with a model in the terminal, answers streamed token by token", tenet::cli::AddChatCommand},
    {"serve", "Serve a model behind an OpenAI-compatible HTTP API (chat, completions, streaming)", tenet::cli::AddServeCommand},
    {"train dpo", "Train a LoRA adapter with DPO on preference pairs (resumable run folder)", tenet::cli::AddTrainDpoCommand},
    {"train sft", "Fine-tune a LoRA adapter on completions / conversations (loss on assistant tokens only)", tenet::cli::AddTrainSftCommand},
    {"eval dpo", "DPO metrics of an adapter on preference pairs (TRL names, JSON)", tenet::cli::AddEvalDpoCommand},
    {"compare", "Answers before and after alignment side by side, with implicit rewards and an HTML report", tenet::cli::AddCompareCommand},
    {"merge", "Merge a LoRA adapter into its base model as a plain HF folder", tenet::cli::AddMergeCommand},
    {"label serve", "Serve the annotator portal and its JSON API (prints a one-time admin sign-in link)", tenet::cli::AddLabelServeCommand},
    {"label admin-link", "Print a new one-time admin sign-in link", tenet::cli::AddLabelAdminLinkCommand},
    {"label job create", "Create a ranking job from a responses file", tenet::cli::AddLabelJobCreateCommand},
    {"label job list", "List jobs with their progress", tenet::cli::AddLabelJobListCommand},
    {"label job pause", "Pause a job (no new tasks; held tasks can still be submitted)", tenet::cli::AddLabelJobPauseCommand},
    {"label job resume", "Resume a paused job", tenet::cli::AddLabelJobResumeCommand},
    {"label invite", "Print a one-time invitation link for an annotator", tenet::cli::AddLabelInviteCommand},
    {"label status", "Progress, per-annotator counts and agreement of a job", tenet::cli::AddLabelStatusCommand},
    {"label results", "Win rates, intervals and p-values of blind pairwise jobs (Bradley-Terry over several)", tenet::cli::AddLabelResultsCommand},
    {"label export", "Export a job's rankings: DPO pairs, a Ground Truth-style manifest, or raw", tenet::cli::AddLabelExportCommand},
};
}  // namespace

int main(int argc, char** argv) {
  return tenet::cli::Dispatch(argc, argv, kCommands, std::size(kCommands));
}
