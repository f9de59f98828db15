#include "app/identity.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "base/os.h"
#include "base/sha256.h"

namespace weft::app {
namespace {

constexpr std::string_view kTokenPrefix = "weft_";
constexpr size_t kIdHexChars = 12;      // 48 bits: found by id, never guessed by it
constexpr size_t kSecretHexChars = 64;  // 256 bits
constexpr int64_t kNsPerSecond = 1'000'000'000;

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}


std::string SecretHash(std::string_view secret) {
  return ToHex(Sha256Of(secret));
}

bool ValidProjectName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

// Runs `change` and appends `entry` in one transaction: both or neither.
template <typename Change>
Status Atomically(meta::MetaStore& meta, const meta::AuditRecord& entry, Change change) {
  return meta::InTransaction(meta, [&] {
    Status s = change();
    return s.ok() ? meta.AppendAudit(entry) : s;
  });
}

Result<meta::ProjectRecord> FindProject(meta::MetaStore& meta, const Caller& caller,
                                        const std::string& name) {
  Result<std::optional<meta::ProjectRecord>> p = meta.FindProject(name);
  if (!p.ok()) return p.status();
  // A project the caller cannot see is as absent as one that does not exist.
  if (!*p || !caller.Sees(name)) return Status::NotFound(fmt::format("no project `{}`", name));
  return **p;
}

IssuedToken Issue(const TokenRequest& request, const std::string& created_by, int64_t ttl_s,
                  int64_t now_ns) {
  IssuedToken t;
  std::string secret = RandomHex(kSecretHexChars / 2);
  t.record.id = RandomHex(kIdHexChars / 2);
  t.record.name = request.name;
  t.record.project = request.project;
  t.record.role = std::string(Name(request.role));
  t.record.hash = SecretHash(secret);
  t.record.created_ns = now_ns;
  t.record.expires_ns = ttl_s > 0 ? now_ns + ttl_s * kNsPerSecond : 0;
  t.record.created_by = created_by;
  t.text = fmt::format("{}{}_{}", kTokenPrefix, t.record.id, secret);
  return t;
}

}  // namespace

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string_view Name(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kContributor:
      return "contributor";
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
  }
  return "reader";
}

std::optional<Role> ParseRole(std::string_view text) {
  for (Role r : {Role::kReader, Role::kContributor, Role::kOwner, Role::kAdmin}) {
    if (text == Name(r)) return r;
  }
  return std::nullopt;
}

bool Caller::Can(Role needed, const std::string& p) const {
  if (admin()) return true;
  return p == project && static_cast<int>(role) >= static_cast<int>(needed);
}

bool Caller::Sees(const std::string& p) const {
  return admin() || p == project;
}

Caller LocalAdmin() {
  return Caller{"local", "", Role::kAdmin};
}

Result<int64_t> ParseTtl(std::string_view text) {
  auto bad = [&] {
    return Status::Invalid(
        fmt::format("`{}` is not a duration: a number and a unit, as in 30d, "
                    "12h, 45m or 2w",
                    text));
  };
  if (text.size() < 2 || text.size() > 12) return bad();
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + (c - '0');
  }
  int64_t unit = 0;
  switch (text.back()) {
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return bad();
  }
  if (n <= 0) return Status::Invalid(fmt::format("`{}`: a token must live longer than that", text));
  return n * unit;
}

Result<meta::ProjectRecord> CreateProject(meta::MetaStore& meta, const Caller& caller,
                                          const std::string& name, const std::string& description,
                                          int64_t now_ns) {
  if (!caller.admin()) return Status::Denied("only the server's admins create projects");
  if (!ValidProjectName(name)) {
    return Status::Invalid(
        fmt::format("`{}` is not a project name: use lowercase letters, digits, "
                    "`-` and `_`, starting with a letter or digit, at most 63",
                    name));
  }
  if (name == "local") {
    return Status::Invalid(
        "`local` is the project of the runs made on the workspace itself "
        "(`weft run`); choose another name");
  }
  Result<std::optional<meta::ProjectRecord>> existing = meta.FindProject(name);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status::Invalid(fmt::format("project `{}` exists already", name));
  meta::ProjectRecord p;
  p.name = name;
  p.description = description;
  p.created_ns = now_ns;
  Status s = Atomically(meta, AuditEntry(caller, name, "project.create", name, description, now_ns),
                        [&] { return meta.PutProject(p); });
  if (!s.ok()) return s;
  return p;
}

Result<meta::ProjectRecord> SetQuota(meta::MetaStore& meta, const Caller& caller,
                                     const std::string& project, const Quota& quota,
                                     int64_t now_ns) {
  Result<meta::ProjectRecord> p = FindProject(meta, caller, project);
  if (!p.ok()) return p.status();
  if (!caller.admin()) return Status::Denied("only the server's admins set quotas");
  if (quota.cpus && *quota.cpus < 0) return Status::Invalid("a CPU quota is 0 (none) or more");
  for (const std::optional<int64_t>* q : {&quota.gpus, &quota.memory_mb, &quota.running}) {
    if (*q && **q < 0) return Status::Invalid("a quota is 0 (none) or more");
  }
  if (quota.cpus) p->max_cpus = *quota.cpus;
  if (quota.gpus) p->max_gpus = *quota.gpus;
  if (quota.memory_mb) p->max_memory_mb = *quota.memory_mb;
  if (quota.running) p->max_running = *quota.running;
  std::string detail = fmt::format("cpus={} gpus={} memory_mb={} running={}", p->max_cpus,
                                   p->max_gpus, p->max_memory_mb, p->max_running);
  Status s = Atomically(meta, AuditEntry(caller, project, "project.quota", project, detail, now_ns),
                        [&] { return meta.PutProject(*p); });
  if (!s.ok()) return s;
  return *p;
}

Result<meta::ProjectRecord> SetDatastores(meta::MetaStore& meta, const Caller& caller,
                                          const std::string& project,
                                          const std::vector<std::string>& grant,
                                          const std::vector<std::string>& revoke, int64_t now_ns) {
  Result<meta::ProjectRecord> p = FindProject(meta, caller, project);
  if (!p.ok()) return p.status();
  if (!caller.admin()) return Status::Denied("only the server's admins grant datastores");
  std::set<std::string> names(p->datastores.begin(), p->datastores.end());
  for (const std::string& d : grant) {
    bool plain = !d.empty() && d.size() <= 255 && std::all_of(d.begin(), d.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!plain) {
      return Status::Invalid(fmt::format("datastore `{}`: a name of letters, digits, `_` and `-`", d));
    }
    names.insert(d);
  }
  for (const std::string& d : revoke) names.erase(d);
  p->datastores.assign(names.begin(), names.end());
  std::string detail;
  for (const std::string& d : p->datastores) detail += (detail.empty() ? "" : ",") + d;
  Status s = Atomically(meta, AuditEntry(caller, project, "project.datastores", project, detail, now_ns),
                        [&] { return meta.PutProject(*p); });
  if (!s.ok()) return s;
  return *p;
}

Result<std::vector<meta::ProjectRecord>> VisibleProjects(meta::MetaStore& meta,
                                                         const Caller& caller) {
  Result<std::vector<meta::ProjectRecord>> all = meta.Projects();
  if (!all.ok()) return all.status();
  std::vector<meta::ProjectRecord> out;
  for (auto& p : *all) {
    if (caller.Sees(p.name)) out.push_back(std::move(p));
  }
  return out;
}

Result<IssuedToken> CreateToken(meta::MetaStore& meta, const Caller& caller,
                                const TokenRequest& request, const TokenPolicy& policy,
                                int64_t now_ns) {
  if (request.name.empty() || request.name.size() > 100) {
    return Status::Invalid("a token needs a name (at most 100 characters) saying whose it is");
  }
  if (request.role == Role::kAdmin) {
    if (!caller.admin()) return Status::Denied("only admins make admin tokens");
    if (!request.project.empty()) return Status::Invalid("an admin token belongs to no project");
  } else {
    if (request.project.empty()) return Status::Invalid("a token belongs to a project (--project)");
    Result<meta::ProjectRecord> p = FindProject(meta, caller, request.project);
    if (!p.ok()) return p.status();
    if (!caller.Can(Role::kOwner, request.project)) {
      return Status::Denied(
          fmt::format("only owners of project `{}` make its tokens", request.project));
    }
  }
  int64_t ttl = request.ttl_s.value_or(policy.default_ttl_s);
  if (request.role == Role::kAdmin && !request.ttl_s) ttl = 0;  // admins' live until revoked
  if (ttl > policy.max_ttl_s && request.role != Role::kAdmin) {
    return Status::Invalid(
        fmt::format("a token lives at most {} days here", policy.max_ttl_s / 86400));
  }
  IssuedToken t = Issue(request, caller.token, ttl, now_ns);
  Status s = Atomically(meta,
                        AuditEntry(caller, request.project, "token.create", t.record.id,
                              fmt::format("{} {}", t.record.role, t.record.name), now_ns),
                        [&] { return meta.PutToken(t.record); });
  if (!s.ok()) return s;
  return t;
}

Result<std::vector<meta::TokenRecord>> ListTokens(meta::MetaStore& meta, const Caller& caller,
                                                  const std::string& project) {
  if (project.empty()) {
    if (!caller.admin()) return Status::Denied("only admins list admin tokens");
  } else {
    Result<meta::ProjectRecord> p = FindProject(meta, caller, project);
    if (!p.ok()) return p.status();
    if (!caller.Can(Role::kOwner, project)) {
      return Status::Denied(fmt::format("only owners of project `{}` list its tokens", project));
    }
  }
  return meta.Tokens(project);
}

Status RevokeToken(meta::MetaStore& meta, const Caller& caller, const std::string& id,
                   int64_t now_ns) {
  Result<std::optional<meta::TokenRecord>> t = meta.FindToken(id);
  if (!t.ok()) return t.status();
  if (!*t || !caller.Sees((*t)->project) || ((*t)->project.empty() && !caller.admin())) {
    return Status::NotFound(fmt::format("no token `{}`", id));
  }
  if (!caller.Can(Role::kOwner, (*t)->project)) {
    return Status::Denied(
        fmt::format("only owners of project `{}` revoke its tokens", (*t)->project));
  }
  if ((*t)->revoked_ns != 0) return Status::Ok();
  meta::TokenRecord r = **t;
  r.revoked_ns = now_ns;
  return Atomically(meta, AuditEntry(caller, r.project, "token.revoke", r.id, r.name, now_ns),
                    [&] { return meta.PutToken(r); });
}

Result<std::optional<IssuedToken>> EnsureAdmin(meta::MetaStore& meta, int64_t now_ns) {
  Result<std::vector<meta::TokenRecord>> admins = meta.Tokens("");
  if (!admins.ok()) return admins.status();
  for (const meta::TokenRecord& t : *admins) {
    if (t.revoked_ns == 0 && (t.expires_ns == 0 || t.expires_ns > now_ns)) {
      return std::optional<IssuedToken>();
    }
  }
  IssuedToken t = Issue({"admin", "", Role::kAdmin, std::nullopt}, "", 0, now_ns);
  Caller server{"server", "", Role::kAdmin};
  Status s = Atomically(
      meta, AuditEntry(server, "", "token.create", t.record.id, "admin (first start)", now_ns),
      [&] { return meta.PutToken(t.record); });
  if (!s.ok()) return s;
  return std::optional<IssuedToken>(std::move(t));
}

Result<Caller> Authenticate(meta::MetaStore& meta, std::string_view token, int64_t now_ns) {
  std::string claimed = "-";
  // `why` goes to the audit log; the caller learns more than "not valid" only once it has shown
  // it holds the token's secret.
  auto fail = [&](const std::string& why,
                  const char* message = "the token is not valid") -> Result<Caller> {
    Status s =
        Audit(meta, Caller{claimed, "", Role::kReader}, "", "auth.failed", claimed, why, now_ns);
    if (!s.ok()) return s;
    return Status::Unauthenticated(message);
  };
  if (token.size() != kTokenPrefix.size() + kIdHexChars + 1 + kSecretHexChars ||
      token.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return fail("malformed token");
  }
  std::string_view id = token.substr(kTokenPrefix.size(), kIdHexChars);
  std::string_view secret = token.substr(kTokenPrefix.size() + kIdHexChars + 1);
  if (!IsHex(id) || token[kTokenPrefix.size() + kIdHexChars] != '_' || !IsHex(secret)) {
    return fail("malformed token");
  }
  claimed = std::string(id);
  Result<std::optional<meta::TokenRecord>> t = meta.FindToken(claimed);
  if (!t.ok()) return t.status();
  std::string hash = SecretHash(secret);  // hashed whether or not the id exists
  if (!*t) return fail("unknown token");
  if (!ConstantTimeEqual(hash, (*t)->hash)) return fail("wrong secret");
  if ((*t)->revoked_ns != 0) return fail("revoked token", "the token was revoked");
  if ((*t)->expires_ns != 0 && (*t)->expires_ns <= now_ns) {
    return fail("expired token", "the token has expired");
  }
  std::optional<Role> role = ParseRole((*t)->role);
  if (!role) return fail("token with an unknown role");
  return Caller{claimed, (*t)->project, *role};
}

meta::AuditRecord AuditEntry(const Caller& caller, const std::string& project, std::string action,
                             std::string target, std::string detail, int64_t now_ns) {
  return meta::AuditRecord{
      0, now_ns, caller.token, project, std::move(action), std::move(target), std::move(detail)};
}

Status Audit(meta::MetaStore& meta, const Caller& caller, const std::string& project,
             const std::string& action, const std::string& target, const std::string& detail,
             int64_t now_ns) {
  return Atomically(meta, AuditEntry(caller, project, action, target, detail, now_ns),
                    [] { return Status::Ok(); });
}

Result<std::vector<meta::AuditRecord>> ReadAudit(meta::MetaStore& meta, const Caller& caller,
                                                 const std::string& project, int64_t limit,
                                                 int64_t before_seq) {
  if (project.empty()) {
    if (!caller.admin()) return Status::Denied("only admins read the whole audit log");
    return meta.Audit(std::nullopt, limit, before_seq);
  }
  Result<meta::ProjectRecord> p = FindProject(meta, caller, project);
  if (!p.ok()) return p.status();
  if (!caller.Can(Role::kOwner, project)) {
    return Status::Denied(fmt::format("only owners of project `{}` read its audit log", project));
  }
  return meta.Audit(project, limit, before_seq);
}

}  // namespace weft::app
