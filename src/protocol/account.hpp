// ACCOUNT uploads (9.2): transaction records packed as transaction.txt inside a .tgz.
//
// Two carriers exist:
//   * Pull-SDK devices (9.2.1) POST /iclock/querydata with a small header, a NUL byte and the
//     base64 text of the archive:  name=transaction.tgz LF size=N LF datacode=base64 LF
//     datatype=tgz NUL <base64>;
//   * controllers (9.2.2) POST /iclock/file with the archive itself, after an overview upload.
// Everything happens in memory (libarchive over a buffer); unpacking is bounded so a small
// archive cannot expand without limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/fields.hpp"
#include "protocol/result.hpp"

namespace zkpush::protocol {

struct ArchiveEntry {
  std::string name;   // path inside the archive, e.g. "transaction.txt"
  std::string bytes;  // content
  bool operator==(const ArchiveEntry&) const = default;
};

struct UnpackOptions {
  // Total uncompressed bytes of all entries; more gives Errc::too_large (decompression bombs).
  std::size_t max_total_bytes = 64u * 1024u * 1024u;
  std::size_t max_entries = 4096;  // entries of any kind; more gives Errc::too_large
};

// Regular files of a gzip-compressed tar (directories and links are skipped). A bare gzip of a
// single file (no tar inside) is accepted too and yields one entry named "data". Errors: not a
// gzip stream, corrupt or truncated data (malformed), limits exceeded (too_large).
Result<std::vector<ArchiveEntry>> unpack_tgz(std::string_view tgz, const UnpackOptions& options = {});

// A ustar archive of the entries, gzip-compressed, entirely in memory (mode 0644, mtime 0).
Result<std::string> pack_tgz(const std::vector<ArchiveEntry>& entries);

// True when the bytes start with the gzip magic (1f 8b).
bool looks_like_gzip(std::string_view bytes) noexcept;

// ---- transaction.txt ----------------------------------------------------------------------------

// One record per line, no table word: cardno=..HT pin=..HT verified=..HT doorid=..HT eventtype=..
// HT inoutstate=..HT time_second=..HT index=.. (a "transaction " word, if present, is accepted).
// LF or CRLF; blank lines and trailing NULs ignored; keys and values kept as written.
std::vector<Record> parse_transaction_records(std::string_view text);
// Each record on its own line, ended by LF, without table word (written only in the degenerate
// case of a first key that itself begins with "transaction ", so that it reads back the same).
std::string format_transaction_records(const std::vector<Record>& records);

// The records of every *.txt entry (transaction.txt first, in archive order otherwise).
Result<std::vector<Record>> transaction_records_from_tgz(std::string_view tgz, const UnpackOptions& options = {});
// A .tgz holding one transaction.txt with the records.
Result<std::string> transaction_tgz(const std::vector<Record>& records);

// ---- the 9.2.1 querydata body ---------------------------------------------------------------------

struct AccountArchiveBody {
  Record header;  // name, size, datacode, datatype (and anything else) as written
  std::string data;  // the archive bytes (base64-decoded when datacode=base64)

  std::string_view name() const noexcept { return header.get_or("name", {}); }
  std::optional<std::int64_t> size() const noexcept { return header.get_int("size"); }
  std::string_view datacode() const noexcept { return header.get_or("datacode", {}); }
  std::string_view datatype() const noexcept { return header.get_or("datatype", {}); }
};

// Header lines separated by LF or CRLF, then NUL, then the data. Tolerated: no NUL (the data then
// starts at the first line that is not a header line, or right after "datatype=tgz" when glued
// to it), a CR/LF after the NUL, whitespace inside the base64. Errors: no header at all
// (incomplete), datacode=base64 with data that is not base64 (bad_value).
Result<AccountArchiveBody> parse_account_archive_body(std::string_view body);
// "name=<name>\nsize=<archive bytes>\ndatacode=base64\ndatatype=tgz\0<base64 of archive>".
std::string format_account_archive_body(std::string_view archive, std::string_view name = "transaction.tgz");

}  // namespace zkpush::protocol
