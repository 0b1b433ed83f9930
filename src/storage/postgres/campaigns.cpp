#include "storage/postgres/campaigns.hpp"

#include <map>

#include "storage/rows.hpp"

namespace zkpush::storage::postgres {

namespace campaigns_sql {

constexpr const char* kColumns =
    "SELECT id, file, size, md5, method, type, url_base, created_by, created_at, cancelled_at FROM campaigns ";

}  // namespace campaigns_sql

void Campaigns::read_targets(std::vector<Campaign>& campaigns) {
  if (campaigns.empty()) return;
  // Every campaign's targets in one statement; by serial number in byte order, whatever the
  // database's collation (as the SQLite backend orders them).
  std::vector<std::int64_t> ids;
  std::map<std::int64_t, Campaign*> by_id;
  for (auto& c : campaigns) {
    ids.push_back(c.id);
    by_id[c.id] = &c;
  }
  auto st = c_.prepare(
      "SELECT campaign_id, sn, command_id, method, url FROM campaign_targets WHERE campaign_id = ANY($1) "
      "ORDER BY campaign_id, sn COLLATE \"C\"");
  st.bind(1, ids);
  while (st.step()) {
    CampaignTarget t;
    t.campaign_id = st.column_int(0);
    t.sn = st.column_text(1);
    t.command_id = st.column_int(2);
    t.method = static_cast<int>(st.column_int(3));
    t.url = st.column_text(4);
    by_id.at(t.campaign_id)->targets.push_back(std::move(t));
  }
}

std::vector<Campaign> Campaigns::list(std::int64_t before_id, std::int64_t limit) {
  auto st = c_.prepare(std::string(campaigns_sql::kColumns) + "WHERE ($1 = 0 OR id < $1) ORDER BY id DESC LIMIT $2");
  st.bind(1, before_id);
  if (limit > 0) st.bind(2, limit);
  else st.bind_null(2);  // LIMIT NULL: all
  std::vector<Campaign> out;
  while (st.step()) out.push_back(rows::read_campaign(st));
  read_targets(out);
  return out;
}

std::optional<Campaign> Campaigns::get(std::int64_t id) {
  auto st = c_.prepare(std::string(campaigns_sql::kColumns) + "WHERE id = $1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  std::vector<Campaign> one{rows::read_campaign(st)};
  read_targets(one);
  return std::move(one.front());
}

std::int64_t Campaigns::insert(const Campaign& c) {
  // The campaign and its targets (as arrays) in one statement.
  std::vector<std::string> sns, urls;
  std::vector<std::int64_t> command_ids, methods;
  for (const auto& t : c.targets) {
    sns.push_back(t.sn);
    command_ids.push_back(t.command_id);
    methods.push_back(t.method);
    urls.push_back(t.url);
  }
  auto st = c_.prepare(
      "WITH campaign AS ("
      " INSERT INTO campaigns (file, size, md5, method, type, url_base, created_by, created_at, cancelled_at)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
      "), targets AS ("
      " INSERT INTO campaign_targets (campaign_id, sn, command_id, method, url)"
      " SELECT campaign.id, t.sn, t.command_id, t.method, t.url FROM campaign,"
      " unnest($10::text[], $11::bigint[], $12::bigint[], $13::text[]) AS t (sn, command_id, method, url)"
      ") SELECT id FROM campaign");
  st.bind(1, c.file).bind(2, static_cast<std::int64_t>(c.size)).bind(3, c.md5).bind(4, c.method).bind(5, c.type)
      .bind(6, c.url_base).bind(7, c.created_by).bind(8, c.created_at).bind(9, c.cancelled_at);
  st.bind(10, sns).bind(11, command_ids).bind(12, methods).bind(13, urls);
  st.step();
  return st.column_int(0);
}

bool Campaigns::cancel(std::int64_t id, std::int64_t at) {
  auto st = c_.prepare("UPDATE campaigns SET cancelled_at = CASE WHEN cancelled_at = 0 THEN $2 ELSE cancelled_at END "
                       "WHERE id = $1");
  st.bind(1, id).bind(2, at);
  st.run();
  return c_.changes() > 0;
}

}  // namespace zkpush::storage::postgres
