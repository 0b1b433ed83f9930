// Device profiles: what an emulated device says it is at registration (4.4) and what hardware it
// has. Profiles are data (registration parameters as the device sends them), so adding a model is
// adding an entry, not code.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "protocol/fields.hpp"

namespace zkpush::emulator {

struct Profile {
  std::string_view name;         // "inbio460", "c3-100", "face"
  std::string_view description;
  int doors = 1;
  int readers = 2;
  // ACCOUNT answered with overview + /iclock/file sub-packages (controllers, 9.2.2) rather than
  // the PULL SDK querydata tgz (9.2.1).
  bool account_controller_form = false;
  // Registration parameters, comma list as sent; ${SN} and ${IP} are filled in per device.
  std::string_view registration;
};

std::span<const Profile> profiles() noexcept;
// By name, any case; nullptr when unknown.
const Profile* find_profile(std::string_view name) noexcept;
// The registration body's parameters for one device of the profile.
protocol::Record registration_options(const Profile& profile, std::string_view sn, std::string_view ip);

}  // namespace zkpush::emulator
