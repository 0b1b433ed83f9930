#include "service/campaigns.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <set>

namespace zkpush::service {

namespace {

using CampaignReason = storage::StoreError::Reason;

storage::StoreError campaign_refusal(CampaignReason reason, std::string message) {
  storage::StoreError e;
  e.reason = reason;
  e.message = std::move(message);
  return e;
}

std::optional<int> campaign_option_int(const protocol::Record& options, std::string_view key) {
  auto v = options.get(key);
  if (!v) return std::nullopt;
  int n = 0;
  const auto* end = v->data() + v->size();
  auto [ptr, ec] = std::from_chars(v->data(), end, n);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return n;
}

// The UPGRADE line of one method, in the parameter order the manual writes (decision 21).
std::string campaign_upgrade_line(const NewCampaign& c, int method, const std::string& url) {
  const std::string size = std::to_string(c.size);
  switch (method) {
    case 1: return "UPGRADE checksum=" + c.md5 + ",url=" + url + ",size=" + size;
    case 2: return "UPGRADE type=" + c.type + ",checksum=" + c.md5 + ",size=" + size + ",url=" + url;
    default: return "UPGRADE checksum=" + c.md5 + ",size=" + size + ",url=" + url + ",supportsubcontracting=1";
  }
}

}  // namespace

int choose_upgrade_method(const protocol::Record& options) {
  if (campaign_option_int(options, "SubcontractingUpgradeFunOn").value_or(0) == 1) return 3;
  const int machine = campaign_option_int(options, "MachineType").value_or(0);
  if (machine >= 1 && machine <= 99) return 1;
  return 2;
}

std::string upgrade_url(const std::string& url_base, const std::string& file, int method, const std::string& sn) {
  std::string base = url_base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (method == 1) return base + "/files/base64/" + file;
  if (method == 3) return base + "/files/" + file + "?SN=" + sn;
  return base + "/files/" + file;
}

void DownloadProgress::add(const std::string& sn, const std::string& file, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  bytes_[{sn, file}] += bytes;
}

std::uint64_t DownloadProgress::bytes(const std::string& sn, const std::string& file) const {
  std::lock_guard lock(mutex_);
  auto it = bytes_.find({sn, file});
  return it == bytes_.end() ? 0 : it->second;
}

void DownloadProgress::reset(const std::string& sn, const std::string& file) {
  std::lock_guard lock(mutex_);
  bytes_.erase({sn, file});
}

void Campaigns::create(NewCampaign request, Reply<storage::Campaign> done) {
  std::vector<std::string> sns;
  if (request.devices.size() == 1 && request.devices[0] == "*") {
    for (const auto& d : devices_.all())
      if (d.device->approved) sns.push_back(d.device->sn);
  } else {
    sns = request.devices;
  }
  std::sort(sns.begin(), sns.end());
  sns.erase(std::unique(sns.begin(), sns.end()), sns.end());
  if (sns.empty()) return done(campaign_refusal(CampaignReason::invalid, "devices: no device to upgrade"));
  if (request.method != "auto" && request.method != "1" && request.method != "2" && request.method != "3")
    return done(campaign_refusal(CampaignReason::invalid, "method: \"auto\", 1, 2 or 3"));

  storage::Campaign campaign;
  campaign.file = request.file;
  campaign.size = request.size;
  campaign.md5 = request.md5;
  campaign.method = request.method;
  campaign.type = request.type;
  campaign.url_base = request.url_base;
  campaign.created_by = request.created_by;
  campaign.created_at = clock_.now();
  std::vector<storage::NewCommand> commands;
  for (const auto& sn : sns) {
    auto state = devices_.get(sn);
    if (!state) return done(campaign_refusal(CampaignReason::not_found, "devices: no device " + sn));
    if (auto why = queue_.refusal(sn)) return done(campaign_refusal(CampaignReason::conflict, "devices: " + *why));
    int method = 0;
    if (request.method == "auto") {
      method = choose_upgrade_method(state->device->options);
    } else {
      method = request.method[0] - '0';
    }
    storage::CampaignTarget target;
    target.sn = sn;
    target.method = method;
    target.url = upgrade_url(request.url_base, request.file, method, sn);
    auto prepared = queue_.prepare(EnqueueRequest{sn, campaign_upgrade_line(request, method, target.url), {}, {}});
    if (!prepared.ok()) return done(campaign_refusal(CampaignReason::invalid, prepared.error().message));
    commands.push_back(std::move(prepared.value()));
    campaign.targets.push_back(std::move(target));
  }
  const std::int64_t now = clock_.now();
  store_.write(
      [campaign, commands = std::move(commands), now](storage::Transaction& tx) mutable {
        for (std::size_t i = 0; i < commands.size(); ++i) {
          if (!tx.devices().get(commands[i].sn))
            throw storage::Refused(CampaignReason::not_found, "devices: no device " + commands[i].sn);
          campaign.targets[i].command_id = tx.commands().insert(commands[i], now).id;
        }
        campaign.id = tx.campaigns().insert(campaign);
        for (auto& t : campaign.targets) t.campaign_id = campaign.id;
        return campaign;
      },
      [this, done = std::move(done)](storage::StoreResult<storage::Campaign> r) {
        if (r.ok()) {
          for (const auto& t : r->targets) {
            progress_.reset(t.sn, r->file);
            queue_.note_queued(t.sn, 1);
          }
          spdlog::info("campaign {}: {} ({} bytes, md5 {}) queued for {} panel(s)", r->id, r->file, r->size, r->md5,
                       r->targets.size());
        }
        done(std::move(r));
      });
}

void Campaigns::cancel_next(std::shared_ptr<CancelWalk> walk) {
  if (walk->next == walk->ids.size()) {
    store_.read([id = walk->id](storage::Reads& reads) { return *reads.campaigns().get(id); }, std::move(walk->done));
    return;
  }
  const std::int64_t command = walk->ids[walk->next++];
  queue_.cancel(command, [this, walk](storage::StoreResult<storage::CommandRow> c) {
    if (!c.ok() && c.error().reason == CampaignReason::none)
      spdlog::warn("campaign {}: cancelling its command: {}", walk->id, c.error().message);
    cancel_next(walk);
  });
}

void Campaigns::cancel(std::int64_t id, Reply<storage::Campaign> done) {
  const std::int64_t now = clock_.now();
  // The mark first, then each command through the queue (which keeps the pending counts), one
  // after the other; a command already sent or closed answers conflict and stays as it is.
  auto walk = std::make_shared<CancelWalk>();
  walk->id = id;
  walk->done = std::move(done);
  store_.write(
      [id, now](storage::Transaction& tx) {
        if (!tx.campaigns().cancel(id, now))
          throw storage::Refused(CampaignReason::not_found, "campaign " + std::to_string(id) + " does not exist");
        return *tx.campaigns().get(id);
      },
      [this, walk](storage::StoreResult<storage::Campaign> r) {
        if (!r.ok()) return walk->done(std::move(r));
        for (const auto& t : r->targets) walk->ids.push_back(t.command_id);
        cancel_next(walk);
      });
}

}  // namespace zkpush::service
