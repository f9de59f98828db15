#include "cli/command.h"

namespace weft::cli {

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"validate", "check a pipeline file and everything it references", SetupValidate},
      {"graph", "draw the flattened graph of a pipeline (text, dot, mermaid, json)", SetupGraph},
      {"run", "run a pipeline here, reusing every step whose inputs did not change", SetupRun},
      {"resume", "finish a run whose weft process died, exactly as it was submitted", SetupResume},
      {"runs", "list the runs of this workspace", SetupRuns},
      {"show", "show a run and its steps", SetupShow},
      {"logs", "print a step's log", SetupLogs},
      {"cancel", "stop a running run (from any terminal)", SetupCancel},
      {"explain", "say why a step ran or was reused", SetupExplain},
      {"get", "copy a step's output out of the store", SetupGet},
      {"metrics", "show the metrics a run's steps logged", SetupMetrics},
      {"compare", "put runs side by side: inputs, params, metrics, output digests", SetupCompare},
      {"lineage", "where an output or data asset came from, or (--downstream) who used it", SetupLineage},
      {"log-metric", "log a metric from inside a step (appends to $WEFT_METRICS)", SetupLogMetric},
      {"hash", "print the digest a file or folder has in the store, without storing it", SetupHash},
      {"gc", "remove store objects that no asset or retained run needs", SetupGc},
      {"fsck", "re-hash the store, quarantine damaged objects, check the database's references", SetupFsck},
      {"component", "register, list and show components (azureml:NAME:VERSION)", SetupComponent},
      {"environment", "register, list and show environments", SetupEnvironment},
      {"data", "register, list and show data assets", SetupData},
      {"serve", "share this workspace over HTTP: a REST API with tokens and projects", SetupServe},
      {"project", "create and list a server's projects, set their quotas", SetupProject},
      {"token", "create, list and revoke a server's tokens", SetupToken},
      {"audit", "read a server's audit log: who changed what, and when", SetupAudit},
      {"publish", "publish a pipeline's files to a server as a new version of a name", SetupPublish},
      {"schedule", "create, list, show, enable, disable, delete and fire schedules (Azure ML schedule files)", SetupSchedule},
      {"slurm-job", "", SetupSlurmJob},
  };
  return kCommands;
}

}  // namespace weft::cli
