#include "protocol/account.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <array>
#include <memory>
#include <string>

#include "protocol/base64.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

struct ReadDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

std::string archive_message(archive* a, const char* fallback) {
  const char* msg = archive_error_string(a);
  return msg ? std::string(msg) : std::string(fallback);
}

}  // namespace

bool looks_like_gzip(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Result<std::vector<ArchiveEntry>> unpack_tgz(std::string_view tgz, const UnpackOptions& options) {
  if (!looks_like_gzip(tgz)) return make_error(Errc::malformed, "not a gzip stream (no 1f 8b magic)", "archive byte 0");
  std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
  if (!a) return make_error(Errc::too_large, "cannot allocate an archive reader");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_raw(a.get());  // a .gz of one file, without tar
  // libarchive does not write through the pointer; the API just is not const-correct.
  if (archive_read_open_memory(a.get(), const_cast<char*>(tgz.data()), tgz.size()) != ARCHIVE_OK)
    return make_error(Errc::malformed, archive_message(a.get(), "cannot open the archive"), "archive");

  std::vector<ArchiveEntry> entries;
  std::size_t total = 0;
  std::size_t headers = 0;  // every entry counts, directories and links included
  std::array<char, 16384> buffer{};
  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    std::string where = "archive entry " + std::to_string(++headers);
    if (r < ARCHIVE_WARN) return make_error(Errc::malformed, archive_message(a.get(), "corrupt archive"), where);
    if (headers > options.max_entries)
      return make_error(Errc::too_large, "archive has more than " + std::to_string(options.max_entries) + " entries",
                        where);
    if (archive_entry_filetype(entry) != AE_IFREG) continue;  // directories, links: nothing to read
    ArchiveEntry out;
    const char* name = archive_entry_pathname(entry);
    out.name = name ? name : "";
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) return make_error(Errc::malformed, archive_message(a.get(), "corrupt archive data"), where);
      total += static_cast<std::size_t>(n);
      if (total > options.max_total_bytes)
        return make_error(Errc::too_large,
                          "archive expands to more than " + std::to_string(options.max_total_bytes) + " bytes", where);
      out.bytes.append(buffer.data(), static_cast<std::size_t>(n));
    }
    entries.push_back(std::move(out));
  }
  return entries;
}

namespace {

struct WriteSink {
  std::string out;
};

la_ssize_t sink_write(archive*, void* client, const void* data, size_t size) {
  static_cast<WriteSink*>(client)->out.append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

int sink_open(archive*, void*) { return ARCHIVE_OK; }
int sink_close(archive*, void*) { return ARCHIVE_OK; }

}  // namespace

Result<std::string> pack_tgz(const std::vector<ArchiveEntry>& entries) {
  // The sink must outlive the writer: freeing an open writer flushes into it.
  WriteSink sink;
  std::unique_ptr<archive, WriteDeleter> a(archive_write_new());
  if (!a) return make_error(Errc::too_large, "cannot allocate an archive writer");
  if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK)
    return make_error(Errc::unsupported, archive_message(a.get(), "libarchive lacks gzip or tar support"));
  // Reproducible output: no time stamp in the gzip header; no padding of the last block.
  archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &sink, sink_open, sink_write, sink_close) != ARCHIVE_OK)
    return make_error(Errc::malformed, archive_message(a.get(), "cannot start the archive"));

  for (std::size_t i = 0; i < entries.size(); ++i) {
    const ArchiveEntry& e = entries[i];
    std::string where = "entry " + std::to_string(i + 1);
    if (e.name.empty() || e.name.find('\0') != std::string::npos)
      return make_error(Errc::bad_value, "archive entry needs a name without NUL", where);
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), e.name.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.bytes.size()));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_mtime(entry.get(), 0, 0);
    if (archive_write_header(a.get(), entry.get()) < ARCHIVE_WARN)
      return make_error(Errc::malformed, archive_message(a.get(), "cannot write the entry header"), where);
    std::size_t done = 0;
    while (done < e.bytes.size()) {
      la_ssize_t n = archive_write_data(a.get(), e.bytes.data() + done, e.bytes.size() - done);
      if (n <= 0) return make_error(Errc::malformed, archive_message(a.get(), "cannot write the entry data"), where);
      done += static_cast<std::size_t>(n);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return make_error(Errc::malformed, archive_message(a.get(), "cannot finish the archive"));
  return std::move(sink.out);
}

// ---- transaction.txt ----------------------------------------------------------------------------

namespace {

std::vector<std::string_view> transaction_keys() {
  std::vector<std::string_view> keys;
  if (const TableSpec* t = find_table("transaction"))
    for (const auto& f : t->upload_fields) keys.push_back(f.name);
  return keys;
}

}  // namespace

namespace {

constexpr std::string_view kWord = "transaction";

// "transaction" followed by a space: the table word of a querydata record.
bool starts_with_word(std::string_view line) {
  return line.size() > kWord.size() && text::istarts_with(line, kWord) && line[kWord.size()] == ' ';
}

}  // namespace

std::vector<Record> parse_transaction_records(std::string_view txt) {
  std::vector<std::string_view> keys = transaction_keys();
  TabRecordOptions options;
  options.known_keys = keys;
  // No table word in this format: only a leading "transaction " is taken as one (below); any
  // other leading word belongs to the first key.
  options.allow_prefix = false;
  std::vector<Record> records;
  for (std::string_view line : text::split_lines(txt)) {
    line = text::trim_line(line);
    std::string prefix;
    if (starts_with_word(line)) {
      prefix = std::string(line.substr(0, kWord.size()));
      line.remove_prefix(kWord.size());
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    }
    Record r = parse_tab_record(line, options);
    if (!prefix.empty()) r.prefix = std::move(prefix);
    if (!r.empty()) records.push_back(std::move(r));
  }
  return records;
}

std::string format_transaction_records(const std::vector<Record>& records) {
  std::string out;
  for (const Record& r : records) {
    Record plain = r;
    plain.prefix.clear();
    std::string line = format_tab_record(plain);
    // Never for real records (their first key is cardno): a first key that itself starts with
    // "transaction " gets the word, so that reading it back does not eat part of the key.
    if (starts_with_word(line)) out += "transaction ";
    out += line;
    out += '\n';
  }
  return out;
}

Result<std::vector<Record>> transaction_records_from_tgz(std::string_view tgz, const UnpackOptions& options) {
  auto entries = unpack_tgz(tgz, options);
  if (!entries) return entries.error();
  auto is_txt = [](const std::string& name) {
    return name.size() >= 4 && text::iequals(std::string_view(name).substr(name.size() - 4), ".txt");
  };
  auto base_is = [](const std::string& name, std::string_view want) {
    std::size_t slash = name.find_last_of('/');
    std::string_view base = slash == std::string::npos ? std::string_view(name) : std::string_view(name).substr(slash + 1);
    return text::iequals(base, want);
  };
  std::vector<const ArchiveEntry*> order;
  for (const auto& e : *entries)
    if (base_is(e.name, "transaction.txt")) order.push_back(&e);
  for (const auto& e : *entries)
    if (is_txt(e.name) && !base_is(e.name, "transaction.txt")) order.push_back(&e);
  if (order.empty())
    for (const auto& e : *entries) order.push_back(&e);
  std::vector<Record> records;
  for (const ArchiveEntry* e : order) {
    auto more = parse_transaction_records(e->bytes);
    records.insert(records.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return records;
}

Result<std::string> transaction_tgz(const std::vector<Record>& records) {
  return pack_tgz({ArchiveEntry{"transaction.txt", format_transaction_records(records)}});
}

// ---- the 9.2.1 querydata body ---------------------------------------------------------------------

namespace {

bool is_header_key(std::string_view key) {
  key = text::trim(key);
  return text::iequals(key, "name") || text::iequals(key, "size") || text::iequals(key, "datacode") ||
         text::iequals(key, "datatype");
}

}  // namespace

Result<AccountArchiveBody> parse_account_archive_body(std::string_view body) {
  AccountArchiveBody out;
  std::string_view header_text;
  std::string data_text;
  std::size_t nul = body.find('\0');
  if (nul != std::string_view::npos) {
    header_text = body.substr(0, nul);
    data_text = std::string(body.substr(nul + 1));
  } else {
    // No NUL: header lines are the known "key=value" lines at the top; the data is the rest.
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t nl = body.find('\n', pos);
      std::size_t end = nl == std::string_view::npos ? body.size() : nl;
      std::string_view line = text::trim_line(body.substr(pos, end - pos));
      std::size_t eq = line.find('=');
      if (!line.empty() && (eq == std::string_view::npos || !is_header_key(line.substr(0, eq)))) break;
      pos = nl == std::string_view::npos ? body.size() : nl + 1;
    }
    header_text = body.substr(0, pos);
    data_text = std::string(body.substr(pos));
  }
  for (std::string_view line : text::split_lines(header_text)) {
    line = text::trim_line(line);
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      out.header.fields.push_back(Field{std::string(line), {}, false});
      continue;
    }
    std::string key(text::trim(line.substr(0, eq)));
    std::string value(text::trim(line.substr(eq + 1)));
    // "datatype=tgzH4sI...": the NUL and the line break were both lost.
    if (text::iequals(key, "datatype") && value.size() > 3 && text::istarts_with(value, "tgz") &&
        nul == std::string_view::npos) {
      data_text.insert(0, value, 3);
      value.resize(3);
    }
    out.header.fields.push_back(Field{std::move(key), std::move(value), true});
  }
  if (out.header.empty())
    return make_error(Errc::incomplete, "ACCOUNT upload has no header (name=, size=, datacode=, datatype=)", "body");

  // For base64 text, surrounding NUL/CR/LF bytes are terminators, not data.
  std::string_view b64 = data_text;
  while (!b64.empty() && (b64.back() == '\0' || b64.back() == '\n' || b64.back() == '\r')) b64.remove_suffix(1);
  while (!b64.empty() && (b64.front() == '\0' || b64.front() == '\n' || b64.front() == '\r')) b64.remove_prefix(1);

  bool base64 = text::iequals(text::trim(out.datacode()), "base64");
  if (base64 || (!out.header.has("datacode") && !looks_like_gzip(data_text))) {
    auto decoded = base64_decode(b64);
    if (decoded) {
      out.data = std::move(*decoded);
    } else if (base64) {
      return make_error(Errc::bad_value, "archive data after the header is not valid base64", "data after the header");
    } else {
      out.data = std::move(data_text);  // no datacode and not base64: keep the bytes
    }
  } else {
    out.data = std::move(data_text);
  }
  return out;
}

std::string format_account_archive_body(std::string_view archive, std::string_view name) {
  std::string out = "name=";
  out.append(name);
  out += "\nsize=" + std::to_string(archive.size());
  out += "\ndatacode=base64\ndatatype=tgz";
  out += '\0';
  out += base64_encode(archive);
  return out;
}

}  // namespace zkpush::protocol
