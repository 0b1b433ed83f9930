// The SQLite schema of the store, as its list of migrations (see migrations.hpp).
#pragma once

#include <span>

#include "storage/sqlite/migrations.hpp"

namespace zkpush::storage::sqlite {

std::span<const Migration> store_migrations() noexcept;

}  // namespace zkpush::storage::sqlite
