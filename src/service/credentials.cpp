#include "service/credentials.hpp"

#include "protocol/text.hpp"

namespace zkpush::service {

namespace p = protocol;

std::string credential_type_name(int bio_type, std::string_view format) {
  if (format == "userpic") return "photo";
  switch (bio_type) {
    case 1: return "fingerprint";
    case 2:
    case 9: return "face";
    case 3: return "voiceprint";
    case 4: return "iris";
    case 5: return "retina";
    case 6: return "palmprint";
    case 7: return "finger_vein";
    case 8:
    case 10: return "palm";
    default: return "general";
  }
}

std::optional<int> bio_type_of(std::string_view name) {
  if (name == "fingerprint") return 1;
  if (name == "face") return 9;
  if (name == "palm") return 8;
  if (name == "finger_vein") return 7;
  if (name == "iris") return 4;
  if (name == "voiceprint") return 3;
  if (name == "retina") return 5;
  if (name == "palmprint") return 6;
  if (name == "general") return 0;
  return std::nullopt;
}

bool is_credential_table(std::string_view table) {
  return p::text::iequals(table, "templatev10") || p::text::iequals(table, "biodata") ||
         p::text::iequals(table, "biophoto") || p::text::iequals(table, "userpic");
}

std::optional<UploadedCredential> credential_from_upload(std::string_view table, const p::Record& r,
                                                         const std::string& sn, std::int64_t now) {
  UploadedCredential out;
  out.pin = std::string(p::text::trim(r.get_or("pin", "")));
  if (out.pin.empty()) return std::nullopt;
  auto number = [&](std::string_view key, int fallback) {
    auto v = p::text::parse_int(p::text::trim(r.get_or(key, "")));
    return v ? static_cast<int>(*v) : fallback;
  };
  auto& c = out.credential;
  c.enrolled_at = sn;
  c.created_at = now;
  if (p::text::iequals(table, "templatev10")) {
    // 7.7: a duress finger is uploaded as fingerid + 16.
    int finger = number("fingerid", 0);
    c.duress = finger >= 16 || number("valid", 1) == 3;
    if (finger >= 16) finger -= 16;
    if (finger < 0 || finger > 9) return std::nullopt;
    c.bio_type = 1;
    c.no = finger;
    c.format = "templatev10";
    c.version = "10.0";
    c.content = std::string(r.get_or("template", r.get_or("tmp", "")));
  } else if (p::text::iequals(table, "biodata")) {
    c.bio_type = number("type", -1);
    if (c.bio_type < 0 || c.bio_type > 10) return std::nullopt;
    c.no = number("no", 0);
    c.index = number("index", 0);
    c.duress = number("duress", 0) == 1;
    c.format = "biodata";
    const int major = number("majorver", 0), minor = number("minorver", 0);
    if (major > 0) c.version = std::to_string(major) + "." + std::to_string(minor);
    c.content = std::string(r.get_or("tmp", ""));
  } else if (p::text::iequals(table, "biophoto")) {
    c.bio_type = number("type", 9);
    if (c.bio_type < 0 || c.bio_type > 10) return std::nullopt;
    c.format = "biophoto";
    c.content = std::string(r.get_or("content", ""));
  } else if (p::text::iequals(table, "userpic")) {
    c.bio_type = 0;
    c.format = "userpic";
    c.content = std::string(r.get_or("content", ""));
  } else {
    return std::nullopt;
  }
  c.content = std::string(p::text::trim(c.content));
  if (c.content.empty()) return std::nullopt;
  c.type = credential_type_name(c.bio_type, c.format);
  return out;
}

}  // namespace zkpush::service
