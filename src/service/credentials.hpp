// Credentials (fingerprint templates, unified biodata, comparison photos, user photos) as the
// domain stores them, read from what a panel uploads (7.7 templatev10, 7.11 biodata, 7.8 biophoto,
// 7.10 userpic). What each panel is sent is the sync engine's choice (service/sync.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/fields.hpp"
#include "storage/areas/access.hpp"

namespace zkpush::service {

// The name a person's JSON gives a credential: "fingerprint", "face" (near-infrared 2 and visible
// light 9), "palm" (8 and visible light 10), "finger_vein", "iris", "voiceprint", "retina",
// "palmprint", "general"; "photo" for a user photo (userpic).
std::string credential_type_name(int bio_type, std::string_view format);
// The manual's biometric type of a name given through the API ("face" is visible light, 9, the
// kind current face terminals hold; "palm" 8); nullopt for an unknown name.
std::optional<int> bio_type_of(std::string_view name);

// A credential from one uploaded record of templatev10, biodata, biophoto or userpic, with the pin
// it belongs to; nullopt when the record lacks its pin or content. `table` any case.
struct UploadedCredential {
  std::string pin;
  storage::Credential credential;
};
std::optional<UploadedCredential> credential_from_upload(std::string_view table, const protocol::Record& record,
                                                         const std::string& sn, std::int64_t now);
bool is_credential_table(std::string_view table);

}  // namespace zkpush::service
