// Who may do what on a shared workspace (`weft serve`): projects, bearer tokens with one role in
// one project, the server's admins, and the audit log of every change.
//
// A token reads `weft_<id>_<secret>`: the id is public and finds the record; only the SHA-256 of
// the secret is stored, compared in constant time. A token is shown once, when it is made.
// Commands run on the workspace itself (its files are theirs already) act as the local admin.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meta/meta.h"

namespace weft::app {

// Readers read; contributors also submit, cancel and register; owners also manage their
// project's tokens and schedules; admins do everything, on every project.
enum class Role { kReader, kContributor, kOwner, kAdmin };
std::string_view Name(Role role);
std::optional<Role> ParseRole(std::string_view text);

struct Caller {
  std::string token;    // the token's id; "local" for commands on the workspace itself
  std::string project;  // empty for admins
  Role role = Role::kReader;

  // Whether the caller may act with `needed` on `project`: admins anywhere, others in their own
  // project with a role at least `needed`.
  bool Can(Role needed, const std::string& project) const;
  // Whether the caller may see `project` at all (a project it cannot see does not exist for it).
  bool Sees(const std::string& project) const;
  bool admin() const { return role == Role::kAdmin; }
};
Caller LocalAdmin();

// Token lifetimes: a token gets `default_ttl_s` when none is asked for, and at most `max_ttl_s`.
struct TokenPolicy {
  int64_t default_ttl_s = 30 * 86400;
  int64_t max_ttl_s = 365 * 86400;
};
// "30d", "12h", "45m", "2w" -> seconds; anything else is Invalid.
Result<int64_t> ParseTtl(std::string_view text);

struct IssuedToken {
  std::string text;  // the token itself: shown once, never stored
  meta::TokenRecord record;
};

// Projects: names of lowercase letters, digits, `-` and `_` (at most 63), made by admins.
Result<meta::ProjectRecord> CreateProject(meta::MetaStore& meta, const Caller& caller,
                                          const std::string& name, const std::string& description,
                                          int64_t now_ns);
struct Quota {
  std::optional<double> cpus;
  std::optional<int64_t> gpus;
  std::optional<int64_t> memory_mb;
  std::optional<int64_t> running;
};
// Sets the quotas given (admins only).
Result<meta::ProjectRecord> SetQuota(meta::MetaStore& meta, const Caller& caller,
                                     const std::string& project, const Quota& quota,
                                     int64_t now_ns);
// Grants `project` the datastores `grant` and takes back `revoke` (admins only): its runs read
// from and publish to only those it is granted. Names as the configuration gives them.
Result<meta::ProjectRecord> SetDatastores(meta::MetaStore& meta, const Caller& caller,
                                          const std::string& project,
                                          const std::vector<std::string>& grant,
                                          const std::vector<std::string>& revoke, int64_t now_ns);
// The projects the caller sees.
Result<std::vector<meta::ProjectRecord>> VisibleProjects(meta::MetaStore& meta,
                                                         const Caller& caller);

struct TokenRequest {
  std::string name;
  std::string project;  // empty with role admin
  Role role = Role::kReader;
  std::optional<int64_t> ttl_s;  // nullopt: the policy's default
};
// Owners make tokens for their own project (up to owner); admins for any, and admin tokens.
Result<IssuedToken> CreateToken(meta::MetaStore& meta, const Caller& caller,
                                const TokenRequest& request, const TokenPolicy& policy,
                                int64_t now_ns);
// The tokens of a project the caller owns (admin tokens for "" and an admin caller).
Result<std::vector<meta::TokenRecord>> ListTokens(meta::MetaStore& meta, const Caller& caller,
                                                  const std::string& project);
Status RevokeToken(meta::MetaStore& meta, const Caller& caller, const std::string& id,
                   int64_t now_ns);

// A server's first start: when no admin token exists (or every one is revoked or expired), makes
// one and returns it (to be printed once); nullopt when there is one.
Result<std::optional<IssuedToken>> EnsureAdmin(meta::MetaStore& meta, int64_t now_ns);

// Equal strings of equal length, in time that depends only on the length (secrets are compared
// so).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// The caller a bearer token stands for. A failure is recorded in the audit log (with the id the
// token claims, never its secret) and says only that the token is not valid.
Result<Caller> Authenticate(meta::MetaStore& meta, std::string_view token, int64_t now_ns);

// An entry of the audit log: `caller` did `action` to `target` in `project`, now.
meta::AuditRecord AuditEntry(const Caller& caller, const std::string& project, std::string action,
                             std::string target, std::string detail, int64_t now_ns);
// Appends to the audit log (in its own transaction).
Status Audit(meta::MetaStore& meta, const Caller& caller, const std::string& project,
             const std::string& action, const std::string& target, const std::string& detail,
             int64_t now_ns);
// The audit log as the caller may read it: admins every entry, owners their project's.
Result<std::vector<meta::AuditRecord>> ReadAudit(meta::MetaStore& meta, const Caller& caller,
                                                 const std::string& project, int64_t limit,
                                                 int64_t before_seq);

}  // namespace weft::app
