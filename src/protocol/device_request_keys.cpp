// Key lists used to read device bodies: table keys (for bodies with spaces instead of HT) and the
// registration keys.
#include "protocol/device_requests.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

// 4.4 template order, then the keys only the parameter table or the example name.
constexpr std::string_view kRegistryKeys[] = {
    "DeviceType", "~DeviceName", "FirmVer", "PushVersion", "MAC", "CommType", "MaxPackageSize", "LockCount",
    "ReaderCount", "AuxInCount", "AuxOutCount", "MachineType", "~IsOnlyRFMachine", "~MaxUserCount",
    "~MaxAttLogCount", "~MaxUserFingerCount", "MThreshold", "IPAddress", "NetMask", "GATEIPAddress",
    "~ZKFPVersion", "~REXInputFunOn", "~CardFormatFunOn", "~SupAuthrizeFunOn", "~ReaderCFGFunOn",
    "~ReaderLinkageFunOn", "~RelayStateFunOn", "~Ext485ReaderFunOn", "~TimeAPBFunOn", "~CtlAllRelayFunOn",
    "~LossCardFunOn", "SimpleEventType", "VerifyStyles", "EventTypes", "DisableUserFunOn", "DeleteAndFunOn",
    "LogIDFunOn", "DateFmtFunOn", "DelAllLossCardFunOn", "AutoClearDay", "FirstDelayDay", "DelayDay",
    "StopAllVerify", "FvFunOn", "FaceFunOn", "FingerFunOn", "CameraOpen", "AccSupportFunList", "AutoServerFunOn",
    "DelayOpenDoorFunOn", "UserOpenDoorDelayFunOn", "MultiCardInterTimeFunOn", "OutRelaySetFunOn",
    "MachineTZFunOn", "DSTFunOn", "CardSiteCodeFunOn", "MulCardUserFunOn", "UserNameFunOn", "StringPinFunOn",
    "MaxLockCount", "MaxZigbeeCount", "MaxMCUCardBits", "SupportReaderType", "CmdFormat", "authKey",
    "MultiStageControlFunOn", "MasterControlOn", "SubControlOn", "BioPhotoFun", "BioDataFun", "UserPicURLFunOn",
    "MultiBioDataSupport", "MultiBioPhotoSupport", "MultiBioVersion", "MaxMultiBioDataCount",
    "MaxMultiBioPhotoCount", "SubcontractingUpgradeFunOn", "IRTempDetectionFunOn", "MaskDetectionFunOn",
    "VMSUserName", "VMSPasswd", "NewVFStyles", "IsSupportQRcode", "QRCodeEnable", "QRCodeDecryptFunList",
    "DevNSLevel", "NewNormalEventTypes", "NewErrorEventTypes", "NewWarningEventTypes", "WGRuleVer",
    "IclockSvrFun", "OverallAntiFunOn",
};

struct Alias {
  std::string_view table;
  std::string_view key;
};
// Spellings the manual's own examples use besides the grammar's (ambiguity 25, catalogue notes).
constexpr Alias kAliases[] = {
    {"identitycard", "IDNum"},
    {"identitycard", "DNNum"},
    {"identitycard", "ValidInfo"},
    {"identitycard", "AdditionalInfo"},
    {"identitycard", "Address_Info"},
    {"identitycard", "FPTemplate1"},
    {"identitycard", "FPTemplate2"},
    {"rtlog", "addrtype"},  // remote identification records (section 10) share rtlog's keys
    {"rtlog", "bitcount"},
    {"transaction", "sn"},
};

}  // namespace

std::span<const std::string_view> registry_keys() noexcept { return kRegistryKeys; }

std::vector<std::string_view> known_keys_of(std::string_view table) {
  std::vector<std::string_view> keys;
  auto add = [&](std::string_view k) {
    for (auto existing : keys)
      if (text::iequals(existing, k)) return;
    keys.push_back(k);
  };
  if (const TableSpec* t = find_table(table)) {
    for (const auto& f : t->upload_fields) add(f.name);
    for (const auto& f : t->update_fields) add(f.name);
    for (const auto& a : kAliases)
      if (text::iequals(a.table, t->name)) add(a.key);
  }
  return keys;
}

std::optional<std::string_view> option_value(const Record& options, std::string_view key) noexcept {
  if (auto v = options.get(key)) return v;
  if (!key.empty() && key.front() == '~') return options.get(key.substr(1));
  for (const Field& f : options.fields)
    if (f.key.size() == key.size() + 1 && f.key.front() == '~' && text::iequals(std::string_view(f.key).substr(1), key))
      return std::string_view(f.value);
  return std::nullopt;
}

bool is_cancel_alarm(const Record& record) noexcept { return record.has("Alarmtype"); }

std::optional<std::int64_t> counted_value(const DeviceRequest& request) noexcept {
  if (request.endpoint != Endpoint::querydata_count || request.records.empty()) return std::nullopt;
  const Record& r = request.records.front();
  if (!request.table.empty())
    if (auto v = r.get_int(request.table)) return v;
  for (const Field& f : r.fields)
    if (f.has_value) return text::parse_int(f.value);
  return std::nullopt;
}

}  // namespace zkpush::protocol
