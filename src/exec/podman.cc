#include "exec/podman.h"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>

#include <regex>

#include <fmt/format.h>

#include "base/command.h"
#include "base/fs.h"

namespace weft::exec {
namespace {

// Limits a container gets (podman's own defaults exceed what root may set here, without
// CAP_SYS_RESOURCE); a job's `--ulimit` options replace them all, so they go along with those.
constexpr const char* kUlimits[] = {"nofile=20000:20000", "nproc=32768:32768"};

std::string Conf() {
  std::string limits;
  for (const char* l : kUlimits) limits += fmt::format("{}\"{}\"", limits.empty() ? "" : ", ", l);
  return fmt::format(
      "[containers]\ndefault_ulimits = [{}]\n[engine]\nruntime = \"runc\"\n"
      "cgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
      limits);
}

// podman, with CONTAINERS_CONF naming `conf`.
Result<CommandOutput> Podman(const std::string& conf, std::vector<std::string> args) {
  args.insert(args.begin(), "podman");
  return RunCommand(args, {"CONTAINERS_CONF=" + conf});
}

}  // namespace

Result<std::string> WriteContainersConf(const std::string& dir) {
  std::string path = ContainersConfPath(dir);
  Result<std::string> have = ReadFileCapped(path, 1 << 16);
  if (have.ok() && *have == Conf()) return path;
  Status s = WriteFileAtomic(path, Conf());
  if (!s.ok()) return s;
  return path;
}

Result<std::string> ImageId(const std::string& conf, const std::string& image) {
  // A reference, never an option: [registry[:port]/]name[:tag][@digest].
  bool valid = !image.empty() && std::isalnum(static_cast<unsigned char>(image[0])) &&
               std::all_of(image.begin(), image.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._-/:@", c);
               });
  if (!valid) return Status::Invalid(fmt::format("`{}` is not an image reference", image));
  Result<CommandOutput> r = Podman(conf, {"image", "inspect", "--format", "{{.Id}}", image});
  if (!r.ok()) {
    return Status::Invalid(
        fmt::format("cannot run podman ({}): install the Debian packages podman "
                    "and runc to run steps in containers",
                    r.status().message()));
  }
  std::string id = r->out.substr(0, r->out.find('\n'));
  if (r->exit_code != 0 || id.empty()) {
    return Status::NotFound(fmt::format(
        "the image `{}` is not on this machine, and no registry is reachable: build it (`podman "
        "build -t {} DIR`) or import it (`podman load -i FILE`, `podman import`), or map the name "
        "to a local image in .weft/config.yaml (containers: images: {{\"{}\": localhost/NAME}})",
        image, image, image));
  }
  return id;
}

Result<std::string> BuildImage(const std::string& conf, const std::string& context,
                               const std::string& tag, const std::string& log) {
  if (Result<std::string> id = ImageId(conf, tag); id.ok()) return id;
  Result<CommandOutput> r = Podman(conf, {"build", "--network", "none", "-t", tag, context});
  if (!log.empty() && r.ok()) {
    std::ofstream out(log, std::ios::app);
    out << r->out << r->err;
  }
  if (!r.ok() || r->exit_code != 0) {
    return Status::Invalid(fmt::format("podman build of {} failed: {}", context, FailureText(r)));
  }
  return ImageId(conf, tag);
}

Result<std::string> RunInImage(const std::string& conf, const std::string& image,
                               const std::vector<std::string>& argv) {
  std::vector<std::string> args = {"run", "--rm", "--network", "none", image};
  args.insert(args.end(), argv.begin(), argv.end());
  Result<CommandOutput> r = Podman(conf, args);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Status::Invalid(FailureText(r));
  return r->out;
}

namespace {

// Words as a shell would split them (quotes and backslashes group; nothing is expanded).
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// Why this host cannot give a container the ulimit `value` ("memlock=-1:-1"); empty: it can.
std::string UlimitRefused(const std::string& value) {
  static const std::map<std::string, int> kLimits = {{"core", RLIMIT_CORE},
                                                     {"cpu", RLIMIT_CPU},
                                                     {"data", RLIMIT_DATA},
                                                     {"fsize", RLIMIT_FSIZE},
                                                     {"memlock", RLIMIT_MEMLOCK},
                                                     {"nofile", RLIMIT_NOFILE},
                                                     {"nproc", RLIMIT_NPROC},
                                                     {"stack", RLIMIT_STACK},
                                                     {"as", RLIMIT_AS},
                                                     {"msgqueue", RLIMIT_MSGQUEUE},
                                                     {"nice", RLIMIT_NICE},
                                                     {"rtprio", RLIMIT_RTPRIO},
                                                     {"sigpending", RLIMIT_SIGPENDING},
                                                     {"locks", RLIMIT_LOCKS},
                                                     {"rss", RLIMIT_RSS}};
  std::string name = value.substr(0, value.find('='));
  auto it = kLimits.find(name);
  if (it == kLimits.end()) return fmt::format("podman knows no ulimit `{}`", name);
  // CAP_SYS_RESOURCE (bit 24 of the effective set) may raise hard limits.
  Result<std::string> status = ReadFileCapped("/proc/self/status", 1 << 16);
  size_t at = status.ok() ? status->find("CapEff:\t") : std::string::npos;
  if (at != std::string::npos &&
      (std::strtoull(status->c_str() + at + 8, nullptr, 16) >> 24 & 1) != 0) {
    return "";
  }
  rlimit have{};
  if (::getrlimit(it->second, &have) != 0) return "";
  std::string limits = value.substr(value.find('=') + 1);  // SOFT[:HARD]
  size_t colon = limits.find(':');
  std::string soft = limits.substr(0, colon);
  std::string hard = colon == std::string::npos ? soft : limits.substr(colon + 1);
  for (const std::string& part : {soft, hard}) {
    long long n = std::atoll(part.c_str());
    if (have.rlim_max != RLIM_INFINITY && (n < 0 || static_cast<rlim_t>(n) > have.rlim_max)) {
      return fmt::format(
          "above this host's hard limit ({}) and weft may not raise it (no CAP_SYS_RESOURCE): the "
          "container would not start",
          static_cast<unsigned long long>(have.rlim_max));
    }
  }
  return "";
}

}  // namespace

DockerArgs ReadDockerArgs(const std::string& text) {
  static const std::regex kSize("[0-9]+(\\.[0-9]+)?[bkmgBKMG]?[bB]?");
  static const std::regex kUlimit("[a-z]+=-?[0-9]+(:-?[0-9]+)?");
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]*");
  DockerArgs out;
  std::vector<std::string> words = Words(text);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string option = words[i], value;
    bool joined = false;  // --name=value, -eNAME=value
    if (size_t eq = option.find('='); option.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = option.substr(eq + 1);
      option = option.substr(0, eq);
      joined = true;
    } else if (option.size() > 2 && option.rfind("-e", 0) == 0) {
      value = option.substr(2);
      option = "-e";
      joined = true;
    }
    // Options take the next word as their value unless it is an option too (--init never does).
    bool takes_value = option.rfind("-", 0) == 0 && option != "--init";
    if (takes_value && !joined && i + 1 < words.size() && words[i + 1].rfind("-", 0) != 0) {
      value = words[++i];
    }
    std::string written = value.empty() ? option : option + " " + value;
    if (option == "--shm-size" && std::regex_match(value, kSize)) {
      out.options.push_back("--shm-size=" + value);
    } else if (option == "--ulimit" && std::regex_match(value, kUlimit)) {
      if (std::string why = UlimitRefused(value); !why.empty()) {
        out.refused.emplace_back(written, why);
      } else {
        out.options.push_back("--ulimit=" + value);
      }
    } else if (option == "--ipc" &&
               (value == "private" || value == "shareable" || value == "none")) {
      out.options.push_back("--ipc=" + value);
    } else if (option == "--init") {
      out.options.push_back("--init");
    } else if ((option == "-e" || option == "--env") && value.find('=') != std::string::npos &&
               std::regex_match(value.substr(0, value.find('=')), kName)) {
      out.env.emplace_back(value.substr(0, value.find('=')), value.substr(value.find('=') + 1));
    } else {
      out.refused.emplace_back(
          written, option == "--ipc" || option == "--shm-size" || option == "--ulimit" ||
                           option == "-e" || option == "--env"
                       ? "not a value weft can check"
                       : "weft sets the container's binds, devices, privileges "
                         "and network itself");
    }
  }
  return out;
}

std::vector<std::string> PodmanRunArgv(const LaunchSpec& spec, const std::string& name,
                                       const std::vector<std::string>& env) {
  const Container& c = *spec.container;
  std::vector<std::string> argv = {"/usr/bin/podman",
                                   "run",
                                   "--rm",
                                   "--name",
                                   name,
                                   "--network",
                                   c.network ? "slirp4netns" : "none"};
  if (spec.needs.cpus > 0) argv.push_back(fmt::format("--cpus={}", spec.needs.cpus));
  if (spec.needs.memory_mb > 0) argv.push_back(fmt::format("--memory={}m", spec.needs.memory_mb));
  if (!c.shm_size.empty()) argv.push_back("--shm-size=" + c.shm_size);
  argv.insert(argv.end(), c.options.begin(), c.options.end());
  for (const char* limit : kUlimits) {
    std::string name = std::string(limit).substr(0, std::string(limit).find('='));
    bool given = false, any = false;
    for (const std::string& o : c.options) {
      any = any || o.rfind("--ulimit=", 0) == 0;
      given = given || o.rfind("--ulimit=" + name + "=", 0) == 0;
    }
    if (any && !given) argv.push_back(std::string("--ulimit=") + limit);
  }
  for (const std::string& d : c.read_only) argv.push_back(fmt::format("--volume={}:{}:ro", d, d));
  for (const std::string& d : c.writable) argv.push_back(fmt::format("--volume={}:{}:rw", d, d));
  for (const std::string& kv : env) {  // the host's PATH means nothing in the image
    std::string var = kv.substr(0, kv.find('='));
    if (var != "PATH" && var != "CONTAINERS_CONF") argv.push_back("--env=" + var);
    if (var == "CUDA_VISIBLE_DEVICES") {  // the GPUs it was given, as devices
      std::string ids = kv.substr(var.size() + 1);
      for (size_t at = 0; !ids.empty() && at != std::string::npos;) {
        size_t comma = ids.find(',', at);
        argv.push_back("--device=/dev/nvidia" +
                       ids.substr(at, comma == std::string::npos ? comma : comma - at));
        at = comma == std::string::npos ? comma : comma + 1;
      }
    }
  }
  argv.push_back("--workdir=" + spec.cwd);
  argv.push_back(c.image);
  if (spec.script_path.empty()) {
    argv.insert(argv.end(), {"/bin/bash", "-c", spec.command});
  } else {
    argv.insert(argv.end(), {"/bin/bash", spec.script_path});
  }
  return argv;
}

void RemoveContainers(const std::string& conf, const std::string& prefix) {
  (void)Podman(conf, {"rm", "--force", "--filter", "name=^" + prefix});
}

}  // namespace weft::exec
