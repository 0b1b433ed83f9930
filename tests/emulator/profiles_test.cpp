// Device profiles: each registers with parameters a server can read back, consistent with its
// hardware.
#include "emulator/profiles.hpp"

#include <gtest/gtest.h>

#include "protocol/device_requests.hpp"

namespace zkpush::emulator {
namespace {

namespace p = protocol;

TEST(Profiles, TheThreeRequiredClassesExist) {
  EXPECT_NE(find_profile("inbio460"), nullptr);
  EXPECT_NE(find_profile("C3-100"), nullptr);
  EXPECT_NE(find_profile("face"), nullptr);
  EXPECT_EQ(find_profile("nope"), nullptr);
}

TEST(Profiles, RegistrationParametersAreConsistentAndParseable) {
  for (const auto& profile : profiles()) {
    auto options = registration_options(profile, "EMU000123", "10.1.2.3");
    SCOPED_TRACE(std::string(profile.name));
    EXPECT_EQ(options.get_int("LockCount").value_or(-1), profile.doors);
    EXPECT_EQ(options.get_int("ReaderCount").value_or(-1), profile.readers);
    EXPECT_EQ(options.get_or("IPAddress", ""), "10.1.2.3");
    EXPECT_EQ(options.get_or("GATEIPAddress", ""), "10.1.2.1");
    EXPECT_TRUE(options.get_int("MaxPackageSize").has_value());
    for (const auto& f : options.fields) EXPECT_EQ(f.value.find("${"), std::string::npos) << f.key;
    // What the server receives parses back to the same parameters.
    auto request = p::format_registry_request("EMU000123", options);
    auto parsed = p::parse_device_request(request.method, request.target, request.body);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->endpoint, p::Endpoint::registry);
    ASSERT_EQ(parsed->records.size(), 1u);
    EXPECT_EQ(parsed->records[0].size(), options.size());
  }
  auto channel = registration_options(*find_profile("channel"), "L1", "10.0.0.3");
  EXPECT_EQ(channel.get_or("IsSupportADScreen", ""), "1");  // SET ADSCREEN_OPTIONS (9.5.3)
  auto face = registration_options(*find_profile("face"), "F1", "10.0.0.2");
  EXPECT_EQ(face.get_or("FaceFunOn", ""), "1");
  EXPECT_TRUE(face.has("MultiBioDataSupport"));
}

}  // namespace
}  // namespace zkpush::emulator
