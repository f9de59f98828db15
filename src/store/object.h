// Typed content digests, in the manner of git.
//
//   file:   sha256("file " + ("x" | "-") + " " + <size> + "\0" + <bytes>)
//   link:   sha256("link " + <length> + "\0" + <target>)
//   folder: sha256("tree " + <count> + "\0" + entries sorted by raw name bytes), each entry
//           <mode> " " <name length> ":" <name> <32-byte digest>, mode 100644 (file), 100755
//           (executable file), 120000 (link), 040000 (folder).
//
// The format is versioned by these prefixes; changing any of it changes every digest, so it is
// pinned by known-answer tests (object_test.cc) computed by an independent implementation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/sha256.h"
#include "base/status.h"

namespace weft::store {

enum class EntryKind { kFile, kExecutable, kLink, kFolder };

struct TreeEntry {
  std::string name;
  EntryKind kind;
  Digest digest;
};

Digest FileDigest(std::string_view bytes, bool executable);
Digest LinkDigest(std::string_view target);
// Sorts `entries` by name (raw bytes) and hashes them.
Digest TreeDigest(std::vector<TreeEntry> entries);

// Streams a regular file through the file digest.
Result<Digest> HashFile(const std::string& path, bool executable);

// Checks that a symbolic link at `rel_path` (relative to its tree's root, using `/`) with
// `target` stays inside the tree. An absolute target, or one whose `..` steps leave the tree, does
// not.
bool LinkStaysInside(std::string_view rel_path, std::string_view target);

// Parses 64 hex characters; nullopt when malformed.
std::optional<Digest> ParseHex(std::string_view hex);

}  // namespace weft::store
