// The Appendix 2 codes named in protocol/event_codes.hpp are the catalogue's, by their wording: a
// wrong number there would log a different event than the one the code means.
#include "protocol/event_codes.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <utility>

#include "protocol/enums.hpp"

namespace zkpush::protocol {
namespace {

TEST(EventCodeNames, EveryNamedCodeHasTheCataloguesMeaning) {
  namespace ec = event_code;
  const std::pair<int, std::string_view> named[] = {
      {ec::granted, "The door opens normally after verification"},
      {ec::unauthorized, "Unauthorized access"},
      {ec::not_registered, "The user is not registered"},
      {ec::door_opened, "The door is open"},
      {ec::door_closed, "The door is closed"},
      {ec::remote_granted, "Remote identification is successful"},
      {ec::cancel_alarm, "Cancel the alarm"},
      {ec::remote_open, "Open the door remotely"},
      {ec::remote_close, "Close the door remotely"},
      {ec::normal_open_off, "Disable the normal open time period of the day"},
      {ec::normal_open_on, "Enable the normal open time period of the day"},
      {ec::aux_on, "Enable auxiliary output remotely"},
      {ec::aux_off, "Disable auxiliary output remotely"},
      {ec::door_locked, "Door locked"},
      {ec::elevator_emergency_cancelled, "Cancel the emergency state of the elevator control"},
      {ec::device_started, "Start the device"},
      {ec::dual_on, "The door is in dual-on mode"},
      {ec::dual_off, "The door is in dual-off mode"},
      {ec::remote_lock, "Remote lock"},
      {ec::remote_unlock, "Remote unlock"},
      {ec::wifi_connected, "Connect to hotspot"},
      {ec::cellular_connected, "Mobile network connection is successful"},
      {ec::cable_connected, "Plug in the internet cable"},
  };
  for (const auto& [code, name] : named) {
    const EventInfo info = event_info(code);
    EXPECT_TRUE(info.defined) << code;
    EXPECT_EQ(info.name, name) << code;
  }
}

}  // namespace
}  // namespace zkpush::protocol
