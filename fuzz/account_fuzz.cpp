// Fuzzes the ACCOUNT archive code: unpack_tgz on arbitrary bytes (under a small expansion limit),
// the 9.2.1 header+NUL+base64 body, and transaction.txt records. Whatever unpacks must pack and
// unpack again to the same entries.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "protocol/account.hpp"

using namespace zkpush::protocol;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "inconsistency: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  UnpackOptions limits;
  limits.max_total_bytes = 1u << 20;
  limits.max_entries = 64;

  if (auto entries = unpack_tgz(in, limits)) {
    std::vector<ArchiveEntry> named;
    for (const auto& e : *entries)
      if (!e.name.empty()) named.push_back(e);
    if (auto packed = pack_tgz(named)) {
      auto back = unpack_tgz(*packed, limits);
      check(back.ok(), "a packed archive does not unpack");
      check(*back == named, "entries changed through pack/unpack");
    }
    (void)transaction_records_from_tgz(in, limits);
  }

  if (auto body = parse_account_archive_body(in)) (void)unpack_tgz(body->data, limits);

  auto records = parse_transaction_records(in);
  std::string once = format_transaction_records(records);
  check(format_transaction_records(parse_transaction_records(once)) == once, "transaction.txt not a fixed point");
  return 0;
}
