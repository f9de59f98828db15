// The subcommand table. Each subcommand lives in its own file and registers itself here.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace weft::cli {

struct CommandSpec {
  std::string_view name;
  std::string_view summary;
  // Adds the subcommand's options to `sub`; returns what runs it (an exit code).
  std::function<int()> (*setup)(CLI::App& sub);
};

// Every subcommand, in the order `weft help` lists them (those without a summary are not listed:
// weft runs them itself).
const std::vector<CommandSpec>& Commands();

// Defined in the subcommand files.
std::function<int()> SetupValidate(CLI::App& sub);
std::function<int()> SetupGraph(CLI::App& sub);
std::function<int()> SetupRun(CLI::App& sub);
std::function<int()> SetupResume(CLI::App& sub);
std::function<int()> SetupRuns(CLI::App& sub);
std::function<int()> SetupShow(CLI::App& sub);
std::function<int()> SetupLogs(CLI::App& sub);
std::function<int()> SetupGet(CLI::App& sub);
std::function<int()> SetupExplain(CLI::App& sub);
std::function<int()> SetupHash(CLI::App& sub);
std::function<int()> SetupCancel(CLI::App& sub);
std::function<int()> SetupMetrics(CLI::App& sub);
std::function<int()> SetupLogMetric(CLI::App& sub);
std::function<int()> SetupCompare(CLI::App& sub);
std::function<int()> SetupLineage(CLI::App& sub);
std::function<int()> SetupGc(CLI::App& sub);
std::function<int()> SetupFsck(CLI::App& sub);
std::function<int()> SetupComponent(CLI::App& sub);
std::function<int()> SetupEnvironment(CLI::App& sub);
std::function<int()> SetupData(CLI::App& sub);
std::function<int()> SetupServe(CLI::App& sub);
std::function<int()> SetupProject(CLI::App& sub);
std::function<int()> SetupToken(CLI::App& sub);
std::function<int()> SetupAudit(CLI::App& sub);
std::function<int()> SetupPublish(CLI::App& sub);
std::function<int()> SetupSchedule(CLI::App& sub);
std::function<int()> SetupSlurmJob(CLI::App& sub);

}  // namespace weft::cli
