// The metadata database's schema, as numbered migrations (the SQLite implementation applies them).
#pragma once

#include <span>

namespace weft::meta {

// Every migration in order: migration N (1-based) takes the schema from version N-1 to N. Never
// edit one that has shipped; add the next.
std::span<const char* const> Migrations();

}  // namespace weft::meta
