// weft's entry point: parse the command line, dispatch to a subcommand, map failures to exit codes.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "cli/command.h"

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.0.0"
#endif

namespace {

// A file whose name starts with `-` reads as an option; after `--` it is a file.
void HintDashedFiles(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") return;
    std::error_code ec;
    if (arg.size() > 1 && arg[0] == '-' && std::filesystem::is_regular_file(arg, ec)) {
      std::fprintf(stderr, "hint: `%s` is a file; a file whose name starts with `-` goes after `--`: "
                           "weft %s -- %s\n",
                   arg.c_str(), argv[1], arg.c_str());
    }
  }
}

int Main(int argc, char** argv) {
  using weft::cli::Commands;
  CLI::App app{"weft: runs Azure ML CLI v2 pipelines locally, reusing every step whose inputs did "
               "not change",
               "weft"};
  app.set_version_flag("--version", std::string("weft ") + WEFT_VERSION);
  app.require_subcommand(0, 1);
  app.footer(
      "Run `weft help COMMAND` or `weft COMMAND --help` for a subcommand's options.\n"
      "Exit codes: 0 success, 1 a step failed, 2 invalid usage or pipeline, 3 system failure,\n"
      "75 busy (try again), 77 not allowed (server token or role), 130 canceled.");
  std::function<int()> action;
  for (const auto& spec : Commands()) {
    CLI::App* sub = app.add_subcommand(std::string(spec.name), std::string(spec.summary));
    if (spec.summary.empty()) sub->group("");  // hidden from `weft help`
    auto run = spec.setup(*sub);
    sub->callback([&action, run] { action = run; });
  }
  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "show help for weft or for one subcommand");
  help->add_option("command", help_topic, "the subcommand to explain");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    HintDashedFiles(argc, argv);
    return code == 0 ? weft::kExitOk : weft::kExitInvalid;
  }
  if (help->parsed() || !action) {
    if (!help_topic.empty()) {
      for (CLI::App* sub : app.get_subcommands({})) {
        if (sub->get_name() == help_topic) {
          std::fputs(sub->help().c_str(), stdout);
          return weft::kExitOk;
        }
      }
      std::fprintf(stderr, "error: no subcommand `%s`; see `weft help`\n", help_topic.c_str());
      return weft::kExitInvalid;
    }
    // App::help() would describe the `help` subcommand itself once it is parsed.
    std::string text = app.get_formatter()->make_help(&app, "weft", CLI::AppFormatMode::Normal);
    std::fputs(text.c_str(), stdout);
    return help->parsed() ? weft::kExitOk : weft::kExitInvalid;
  }
  return action();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft: internal error: %s\n", e.what());
    return weft::kExitSystem;
  }
}
