// ACCOUNT archives: in-memory tgz packing and unpacking, limits, transaction.txt records, and the
// 9.2.1 querydata body.
#include "protocol/account.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protocol/base64.hpp"
#include "protocol/device_requests.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

std::string sample_txt() {
  auto fx = testing::load_fixture("9.2.2-account-controller.txt");
  for (const auto& b : fx.blocks)
    if (b.kind == "FILE" && b.label == "transaction.txt") return b.content;
  ADD_FAILURE() << "no transaction.txt in 9.2.2";
  return {};
}

// A gzip member holding `data` in one stored (uncompressed) deflate block: a .gz of a plain
// file, without tar, built by hand.
std::string plain_gzip(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xFFFFFFFFu;
  auto le32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                       static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 24) & 0xff)};
  };
  auto len = static_cast<std::uint16_t>(data.size());
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  out += '\x01';
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  out += static_cast<char>(~len & 0xff);
  out += static_cast<char>((~len >> 8) & 0xff);
  out += data;
  out += le32(crc);
  out += le32(static_cast<std::uint32_t>(data.size()));
  return out;
}

TEST(Account, PlainGzipWithoutTar) {
  auto r = unpack_tgz(plain_gzip("cardno=0\tpin=9\n"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "data");
  EXPECT_EQ((*r)[0].bytes, "cardno=0\tpin=9\n");
  auto records = transaction_records_from_tgz(plain_gzip("cardno=0\tpin=9\n"));
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].get_or("pin", ""), "9");
}

TEST(Account, PackUnpackRoundTrip) {
  std::vector<ArchiveEntry> entries{{"transaction.txt", "cardno=0\tpin=1\n"},
                                    {"dir/other.bin", std::string("\0\x01\xff binary", 10)},
                                    {"empty.txt", ""}};
  auto tgz = pack_tgz(entries);
  ASSERT_TRUE(tgz.ok()) << tgz.error().to_string();
  EXPECT_TRUE(looks_like_gzip(*tgz));
  auto back = unpack_tgz(*tgz);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, entries);
  // Deterministic: the same entries give the same bytes (no time stamps).
  auto again = pack_tgz(entries);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *tgz);
  auto none = pack_tgz({});
  ASSERT_TRUE(none.ok());
  auto empty = unpack_tgz(*none);
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_TRUE(empty->empty());
}

TEST(Account, PackRejectsNamelessEntries) {
  auto r = pack_tgz({ArchiveEntry{"", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_value);
  EXPECT_EQ(r.error().where, "entry 1");
}

TEST(Account, GarbageIsAnError) {
  for (std::string garbage : {std::string(), std::string("not an archive at all"), std::string("\x1f", 1),
                              std::string("\x1f\x8b\x08\x00garbage after a gzip magic", 30)}) {
    auto r = unpack_tgz(garbage);
    ASSERT_FALSE(r.ok()) << garbage.size();
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_FALSE(r.error().what.empty());
  }
}

TEST(Account, TruncatedArchiveIsAnError) {
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "cardno=" + std::to_string(i * 7919) + "\tpin=" + std::to_string(i) + "\n";
  auto tgz = pack_tgz({ArchiveEntry{"transaction.txt", big}});
  ASSERT_TRUE(tgz.ok());
  for (std::size_t keep : {tgz->size() / 4, tgz->size() / 2, tgz->size() - 9}) {
    auto r = unpack_tgz(tgz->substr(0, keep));
    ASSERT_FALSE(r.ok()) << "kept " << keep << " of " << tgz->size();
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().where.find("archive"), std::string::npos);
  }
}

TEST(Account, DecompressionBombLimit) {
  // 8 MiB of zeros compress to a few KiB.
  std::string zeros(8u * 1024u * 1024u, '\0');
  auto tgz = pack_tgz({ArchiveEntry{"transaction.txt", zeros}});
  ASSERT_TRUE(tgz.ok());
  EXPECT_LT(tgz->size(), 64u * 1024u);
  UnpackOptions small;
  small.max_total_bytes = 1024 * 1024;
  auto r = unpack_tgz(*tgz, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::too_large);
  UnpackOptions enough;
  enough.max_total_bytes = zeros.size();
  auto ok = unpack_tgz(*tgz, enough);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].bytes.size(), zeros.size());
  EXPECT_EQ(UnpackOptions{}.max_total_bytes, 64u * 1024u * 1024u);

  // The limit also holds through parse_device_request.
  ParseOptions options;
  options.archive_limits.max_total_bytes = 1024;
  auto req = parse_device_request("POST", "/iclock/file?SN=1&cmdid=1&fileseq=1&contenttype=tgz&table=transaction&count=1",
                                  *tgz, options);
  ASSERT_FALSE(req.ok());
  EXPECT_EQ(req.error().code, Errc::too_large);
}

TEST(Account, EntryCountLimit) {
  std::vector<ArchiveEntry> many;
  for (int i = 0; i < 20; ++i) many.push_back({"f" + std::to_string(i) + ".txt", "x"});
  auto tgz = pack_tgz(many);
  ASSERT_TRUE(tgz.ok());
  UnpackOptions few;
  few.max_entries = 5;
  auto r = unpack_tgz(*tgz, few);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::too_large);
}

TEST(Account, TransactionTxtRecords) {
  std::vector<Record> records = parse_transaction_records(sample_txt());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].size(), 8u);
  EXPECT_EQ(records[0].prefix, "");
  EXPECT_EQ(records[0].get_or("cardno", ""), "0");
  EXPECT_EQ(records[2].get_or("time_second", ""), "548003689");
  EXPECT_EQ(records[2].get_int("index"), 94);
  EXPECT_EQ(format_transaction_records(records), sample_txt() + "\n");

  // CR LF, blank lines, NULs, spaces for tabs, a stray table word, unknown keys: all read.
  auto sloppy = parse_transaction_records(
      std::string("cardno=1 pin=2 verified=1 doorid=1 eventtype=0 inoutstate=0 time_second=5 index=1\r\n\r\n") +
      "transaction cardno=3\tpin=4\tfuture=x\n" + std::string(3, '\0'));
  ASSERT_EQ(sloppy.size(), 2u);
  EXPECT_EQ(sloppy[0].size(), 8u);
  EXPECT_EQ(sloppy[0].get_or("index", ""), "1");
  EXPECT_EQ(sloppy[1].prefix, "transaction");
  EXPECT_EQ(sloppy[1].get_or("future", ""), "x");
  EXPECT_EQ(format_transaction_records({sloppy[1]}), "cardno=3\tpin=4\tfuture=x\n");  // no word written
}

TEST(Account, RealTgzBehindHeaderAndNul) {
  // The test the brief asks for: transaction.txt -> our packer -> base64 behind the 9.2.1 header
  // and NUL -> parsed back to the same records.
  std::vector<Record> records = parse_transaction_records(sample_txt());
  auto tgz = transaction_tgz(records);
  ASSERT_TRUE(tgz.ok());
  std::string body = format_account_archive_body(*tgz);
  std::string head = "name=transaction.tgz\nsize=" + std::to_string(tgz->size()) + "\ndatacode=base64\ndatatype=tgz";
  ASSERT_EQ(body.substr(0, head.size()), head);
  ASSERT_EQ(body[head.size()], '\0');
  EXPECT_EQ(body.substr(head.size() + 1), base64_encode(*tgz));

  auto parsed = parse_account_archive_body(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->name(), "transaction.tgz");
  EXPECT_EQ(parsed->size(), static_cast<std::int64_t>(tgz->size()));
  EXPECT_EQ(parsed->datacode(), "base64");
  EXPECT_EQ(parsed->datatype(), "tgz");
  EXPECT_EQ(parsed->data, *tgz);
  auto back = transaction_records_from_tgz(parsed->data);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, records);

  auto req = parse_device_request(
      "POST", "/iclock/querydata?SN=1&type=tabledata&cmdid=291&tablename=transaction&count=3&datafmt=3&Stamp=9999", body);
  ASSERT_TRUE(req.ok()) << req.error().to_string();
  EXPECT_EQ(req->records, records);
}

TEST(Account, ArchiveBodyTolerance) {
  auto tgz = transaction_tgz({Record{{"pin", "1"}}});
  ASSERT_TRUE(tgz.ok());
  std::string b64 = base64_encode(*tgz);
  // CR LF header, no NUL: data starts at the first line that is not a header line.
  auto crlf = parse_account_archive_body("name=transaction.tgz\r\nsize=5\r\ndatacode=base64\r\ndatatype=tgz\r\n" + b64);
  ASSERT_TRUE(crlf.ok());
  EXPECT_EQ(crlf->data, *tgz);
  EXPECT_EQ(crlf->datatype(), "tgz");
  // Raw archive bytes when datacode is not base64.
  auto raw = parse_account_archive_body("name=t.tgz\ndatacode=binary\ndatatype=tgz" + std::string(1, '\0') + *tgz);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->data, *tgz);
  // Errors.
  auto bad = parse_account_archive_body("name=t.tgz\ndatacode=base64\ndatatype=tgz" + std::string(1, '\0') + "***");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::bad_value);
  auto empty = parse_account_archive_body("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::incomplete);
}

TEST(Account, TransactionRecordsFromSeveralEntries) {
  auto tgz = pack_tgz({ArchiveEntry{"readme.md", "not records"}, ArchiveEntry{"b.txt", "pin=2\n"},
                       ArchiveEntry{"sub/transaction.txt", "pin=1\n"}});
  ASSERT_TRUE(tgz.ok());
  auto records = transaction_records_from_tgz(*tgz);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].get_or("pin", ""), "1");  // transaction.txt first
  EXPECT_EQ((*records)[1].get_or("pin", ""), "2");
  EXPECT_FALSE(transaction_records_from_tgz("garbage").ok());
}

}  // namespace
}  // namespace zkpush::protocol
