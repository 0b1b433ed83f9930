#include "storage/sqlite/campaigns.hpp"

#include "storage/rows.hpp"

namespace zkpush::storage::sqlite {

namespace campaigns_sql {

constexpr const char* kColumns =
    "SELECT id, file, size, md5, method, type, url_base, created_by, created_at, cancelled_at FROM campaigns ";

}  // namespace campaigns_sql

void Campaigns::read_targets(Campaign& campaign) {
  auto st = c_.prepare("SELECT sn, command_id, method, url FROM campaign_targets WHERE campaign_id = ?1 ORDER BY sn");
  st->bind(1, campaign.id);
  while (st->step()) {
    CampaignTarget t;
    t.campaign_id = campaign.id;
    t.sn = st->column_text(0);
    t.command_id = st->column_int(1);
    t.method = static_cast<int>(st->column_int(2));
    t.url = st->column_text(3);
    campaign.targets.push_back(std::move(t));
  }
}

std::vector<Campaign> Campaigns::list(std::int64_t before_id, std::int64_t limit) {
  auto st = c_.prepare(std::string(campaigns_sql::kColumns) + "WHERE (?1 = 0 OR id < ?1) ORDER BY id DESC LIMIT ?2");
  st->bind(1, before_id).bind(2, limit > 0 ? limit : std::int64_t{-1});
  std::vector<Campaign> out;
  while (st->step()) out.push_back(rows::read_campaign(*st));
  for (auto& c : out) read_targets(c);
  return out;
}

std::optional<Campaign> Campaigns::get(std::int64_t id) {
  auto st = c_.prepare(std::string(campaigns_sql::kColumns) + "WHERE id = ?1");
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  Campaign c = rows::read_campaign(*st);
  read_targets(c);
  return c;
}

std::int64_t Campaigns::insert(const Campaign& c) {
  {
    auto st = c_.prepare(
        "INSERT INTO campaigns (file, size, md5, method, type, url_base, created_by, created_at, cancelled_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    st->bind(1, c.file).bind(2, static_cast<std::int64_t>(c.size)).bind(3, c.md5).bind(4, c.method).bind(5, c.type)
        .bind(6, c.url_base).bind(7, c.created_by).bind(8, c.created_at).bind(9, c.cancelled_at);
    st->run();
  }
  const std::int64_t id = c_.db().last_insert_rowid();
  for (const auto& t : c.targets) {
    auto st = c_.prepare(
        "INSERT INTO campaign_targets (campaign_id, sn, command_id, method, url) VALUES (?1, ?2, ?3, ?4, ?5)");
    st->bind(1, id).bind(2, t.sn).bind(3, t.command_id).bind(4, std::int64_t{t.method}).bind(5, t.url);
    st->run();
  }
  return id;
}

bool Campaigns::cancel(std::int64_t id, std::int64_t at) {
  auto st = c_.prepare("UPDATE campaigns SET cancelled_at = CASE WHEN cancelled_at = 0 THEN ?2 ELSE cancelled_at END "
                       "WHERE id = ?1");
  st->bind(1, id).bind(2, at);
  st->run();
  return c_.db().changes() > 0;
}

}  // namespace zkpush::storage::sqlite
