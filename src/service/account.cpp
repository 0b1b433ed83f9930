#include "service/account.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "protocol/fields.hpp"

namespace zkpush::service {

std::optional<nlohmann::ordered_json> account_totals(const std::vector<storage::CommandData>& data) {
  std::int64_t missing = 0;
  bool any = false;
  std::optional<std::int64_t> expected;
  std::vector<std::pair<std::pair<std::string, std::int64_t>, std::int64_t>> per_archive;
  for (const auto& d : data) {
    if (d.kind == "overview") {
      if (auto sum = protocol::parse_line_list(d.body).get_int("SumCount")) expected = *sum;
      continue;
    }
    if (d.kind != "account" && d.kind != "file") continue;
    auto j = nlohmann::json::parse(d.body, nullptr, false);
    if (!j.is_object()) continue;
    any = true;
    missing += j.value("missing_inserted", std::int64_t{0});
    const auto records = j.value("records", std::int64_t{0});
    auto key = std::make_pair(d.kind, d.packidx);
    auto it = std::find_if(per_archive.begin(), per_archive.end(), [&](const auto& e) { return e.first == key; });
    if (it == per_archive.end())
      per_archive.emplace_back(key, records);
    else
      it->second = records;
  }
  if (!any && !expected) return std::nullopt;
  std::int64_t records = 0;
  for (const auto& e : per_archive) records += e.second;
  nlohmann::ordered_json totals;
  totals["records"] = records;
  totals["missing_inserted"] = missing;
  if (expected) totals["expected_records"] = *expected;
  return totals;
}

std::string with_account_totals(const std::string& result, const nlohmann::ordered_json& totals) {
  auto j = nlohmann::ordered_json::parse(result, nullptr, false);
  if (!j.is_object()) j = nlohmann::ordered_json::object();
  for (auto it = totals.begin(); it != totals.end(); ++it) j[it.key()] = it.value();
  return j.dump();
}

}  // namespace zkpush::service
