#include "server/serve.h"

#include <poll.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "app/events.h"
#include "app/host.h"
#include "app/webhooks.h"
#include "base/interrupt.h"
#include "meta/sqlite_meta.h"
#include "server/api.h"
#include "server/http.h"

namespace weft::server {

Result<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  auto bad = [&] {
    return Status::Invalid(
        fmt::format("--listen {}: expected HOST:PORT, e.g. 127.0.0.1:8765 or "
                    "[::1]:8765",
                    listen));
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = listen.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  }
  std::string_view port_text = std::string_view(listen).substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535 ||
      host.empty()) {
    return bad();
  }
  return std::make_pair(host, port);
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

// Sends a webhook's delivery: its URL split into the server and the path.
Result<int> PostWebhook(const std::string& url, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  size_t host = url.find("://");
  size_t path = host == std::string::npos ? std::string::npos : url.find('/', host + 3);
  std::string base = path == std::string::npos ? url : url.substr(0, path);
  Result<std::unique_ptr<HttpClient>> client = HttpClient::Open(base, "", 10);
  if (!client.ok()) return client.status();
  Result<Response> r =
      (*client)->Send("POST", path == std::string::npos ? "/" : url.substr(path), body, headers);
  if (!r.ok()) return r.status();
  return r->status;
}

}  // namespace

Status Serve(app::Session& session, const ServeOptions& options) {
  Result<std::pair<std::string, int>> where = ParseListen(options.listen);
  if (!where.ok()) return where.status();
  auto [host, port] = *where;
  bool tls = !options.cert_file.empty() || !options.key_file.empty();
  if (tls && (options.cert_file.empty() || options.key_file.empty())) {
    return Status::Invalid("TLS needs both --cert and --key");
  }
  if (!IsLoopback(host) && !tls) {
    if (!options.insecure) {
      return Status::Invalid(fmt::format(
          "{} is reachable from other machines: give a TLS certificate and key (--cert, --key), or "
          "pass --insecure to send tokens in clear text anyway",
          host));
    }
    options.say(
        fmt::format("warning: serving {} without TLS (--insecure): tokens cross the network "
                    "in clear text",
                    host));
  }

  if ((host == "0.0.0.0" || host == "::") && options.host_names.empty()) {
    return Status::Invalid(fmt::format(
        "--listen {}: a server on every address answers only to the names clients reach it by "
        "(it checks the Host header); give them with --host-name",
        options.listen));
  }

  std::string db = session.workspace().db_path();
  MetaPool pool([db] { return meta::OpenSqliteMeta(db); });
  {
    Result<MetaPool::Lease> meta = pool.Acquire();
    if (!meta.ok()) return meta.status();
    Result<std::optional<app::IssuedToken>> admin = app::EnsureAdmin(**meta, session.os().NowNs());
    if (!admin.ok()) return admin.status();
    if (*admin) {
      options.say(
          fmt::format("admin token (shown once; keep it, e.g. in a file read by "
                      "WEFT_TOKEN=$(cat FILE)):\n{}",
                      (*admin)->text));
    }
  }
  // What the runs do, for the event streams; a run's project is read in the host's thread, with
  // the host's connection (the observer's callbacks come from there).
  app::EventLimits limits;
  app::EventLog events(session.os(), limits, [&session](const std::string& run) {
    Result<std::optional<meta::RunRecord>> r = session.meta().FindRun(run);
    return r.ok() && *r ? (*r)->project : std::string();
  });
  // The API's threads read objects through their own Store (it holds no state but its folder).
  store::Store store(session.workspace().store_dir(), session.os());
  app::Host engine_host(session);
  engine_host.Subscribe(&events);
  {
    Result<MetaPool::Lease> meta = pool.Acquire();
    if (!meta.ok()) return meta.status();
    Result<std::vector<meta::ProjectRecord>> projects = (*meta)->Projects();
    if (!projects.ok()) return projects.status();
    for (const meta::ProjectRecord& p : *projects) engine_host.SetQuota(p);
  }
  // Steps get a token for the MLflow endpoint that only this process can check.
  app::StepTokens step_tokens(RandomHex(32));
  Api api(ApiParts{pool, engine_host, events, session.workspace(), store, session.os(), &step_tokens},
          ApiOptions{options.tokens, options.version, options.heartbeat_s * 1000});
  ServerOptions so;
  so.threads = 64 + static_cast<int>(limits.readers);  // (each event stream holds one)
  so.host = host;
  so.port = port;
  so.cert_file = options.cert_file;
  so.key_file = options.key_file;
  so.host_names = options.host_names;
  so.static_dir = options.ui_dir;
  HttpServer http(so, api.Routes());
  Status s = http.Bind();
  if (!s.ok()) return s;
  // Steps reach the server on loopback when it listens on every address.
  std::string reach = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "[::1]" : host;
  if (reach.find(':') != std::string::npos && reach.front() != '[') reach = "[" + reach + "]";
  std::string tracking_url = fmt::format("{}://{}:{}", tls ? "https" : "http", reach, http.port());
  std::string cert = options.cert_file;
  std::vector<std::pair<std::string, std::string>> passed;  // --pass-env, as the server has them
  for (const std::string& name : options.pass_env) {
    if (name.rfind("WEFT_", 0) == 0 || name.empty() || name.find('=') != std::string::npos) {
      return Status::Invalid(fmt::format("--pass-env {}: not a variable steps may get", name));
    }
    if (std::optional<std::string> value = session.os().GetEnv(name)) {
      passed.emplace_back(name, *value);
    } else {
      options.say(fmt::format("weft serve: warning: --pass-env {}: not set here", name));
    }
  }
  engine_host.SetJobEnvironment([&step_tokens, tracking_url, cert, passed](const engine::JobStart& job) {
    engine::JobExtras extras = app::TrackingEnvironment(step_tokens, tracking_url, job);
    if (!cert.empty()) extras.env.emplace_back("MLFLOW_TRACKING_SERVER_CERT_PATH", cert);
    extras.env.insert(extras.env.end(), passed.begin(), passed.end());
    return extras;
  });
  // What a stopped (or killed) server left interrupted goes on, as `weft resume` would.
  Result<app::Host::Resumed> resumed = engine_host.ResumeInterrupted();
  if (!resumed.ok()) return resumed.status();
  for (const auto& [was, now] : resumed->runs) {
    options.say(fmt::format("weft serve: resuming run {} as run {}", was, now));
  }
  for (const std::string& p : resumed->problems) {
    options.say(fmt::format("weft serve: warning: cannot resume {}", p));
  }

  // Schedules fire from this thread, about once a second, with a connection of their own.
  Result<MetaPool::Lease> schedule_meta = pool.Acquire();
  if (!schedule_meta.ok()) return schedule_meta.status();
  app::Scheduler scheduler(**schedule_meta, session.workspace(), ScheduleStarter(engine_host));
  auto fire = [&] {
    Result<std::vector<app::Scheduler::Fired>> fired = scheduler.Tick(session.os().NowNs());
    if (!fired.ok()) {
      options.say(fmt::format("weft serve: warning: schedules: {}", fired.status().message()));
      return;
    }
    for (const app::Scheduler::Fired& f : *fired) {
      options.say(fmt::format("weft serve: schedule {}/{}: {}{}", f.project, f.name, f.outcome,
                              f.run_id.empty() ? "" : " as run " + f.run_id));
    }
  };

  // Finished runs are announced to their projects' webhooks, from a thread of its own (a slow
  // receiver must not hold up the schedules).
  Result<MetaPool::Lease> delivery_meta = pool.Acquire();
  if (!delivery_meta.ok()) return delivery_meta.status();
  app::Deliverer deliverer(**delivery_meta, PostWebhook);
  app::RunNotices notices(session.meta(), session.os());
  engine_host.Subscribe(&notices);  // (from here on, no early return: Unsubscribe below)
  std::mutex delivery_mu;
  std::condition_variable delivery_wake;
  bool delivery_stop = false;
  std::thread delivering([&] {
    std::unique_lock<std::mutex> lock(delivery_mu);
    while (!delivery_stop) {
      lock.unlock();
      Status s = deliverer.Tick(session.os().NowNs());
      if (!s.ok()) options.say(fmt::format("weft serve: warning: webhooks: {}", s.message()));
      lock.lock();
      delivery_wake.wait_for(lock, std::chrono::seconds(1), [&] { return delivery_stop; });
    }
  });

  InstallInterruptHandlers();
  std::thread serving([&http] { http.Serve(); });
  options.say(fmt::format("weft serve: listening on {}://{}:{} (workspace {})",
                          tls ? "https" : "http",
                          host.find(':') != std::string::npos ? "[" + host + "]" : host,
                          http.port(), session.workspace().dir));
  if (!options.ui_dir.empty()) {
    options.say(fmt::format("weft serve: web UI at {}://{}:{}/", tls ? "https" : "http",
                            host.find(':') != std::string::npos ? "[" + host + "]" : host, http.port()));
  }
  while (!Interrupted()) {
    fire();
    struct pollfd p {
      InterruptFd(), POLLIN, 0
    };
    ::poll(&p, 1, 1000);
  }
  options.say("weft serve: stopping");
  events.Close();  // (event streams end, freeing their connections' threads)
  http.Stop();
  serving.join();
  // The engine heard the signal too: it stops the running steps (with their grace period).
  engine_host.Shutdown();
  engine_host.Unsubscribe(&notices);
  {
    std::lock_guard<std::mutex> lock(delivery_mu);
    delivery_stop = true;
  }
  delivery_wake.notify_all();
  delivering.join();
  return Status::Ok();
}

}  // namespace weft::server
