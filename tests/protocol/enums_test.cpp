// The generated enumeration tables and their typed helpers.
#include "protocol/enums.hpp"
#include "protocol/text.hpp"

#include <gtest/gtest.h>

#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

// ---- events ----------------------------------------------------------------------------------------------

TEST(Events, ClassesByRange) {
  EXPECT_EQ(event_info(0).klass, EventClass::normal);
  EXPECT_EQ(event_info(19).klass, EventClass::normal);
  EXPECT_EQ(event_info(20).klass, EventClass::error);
  EXPECT_EQ(event_info(27).klass, EventClass::error);
  EXPECT_EQ(event_info(100).klass, EventClass::alarm);
  EXPECT_EQ(event_info(200).klass, EventClass::normal);
  EXPECT_EQ(event_info(254).klass, EventClass::special);
  EXPECT_EQ(event_info(255).klass, EventClass::special);
  EXPECT_STREQ(event_class_name(EventClass::alarm), "alarm");
}

TEST(Events, DefinedCodesHaveNames) {
  EventInfo e = event_info(27);
  EXPECT_TRUE(e.defined);
  EXPECT_EQ(e.code, 27);
  EXPECT_EQ(e.name, "The user is not registered");  // the unified wording of Appendix 2
  EXPECT_EQ(event_info(100).name, "Tamper alarm");
  EXPECT_EQ(event_info(153).name, "The elevator control emergency button is disconnected");
  EXPECT_TRUE(event_info(255).defined);
}

TEST(Events, UndefinedCodesKeepTheirRangeClass) {
  for (int code : {81, 99}) {
    EventInfo e = event_info(code);
    EXPECT_FALSE(e.defined) << code;
    EXPECT_TRUE(e.name.empty()) << code;
    EXPECT_EQ(e.klass, EventClass::error) << code;
  }
  EXPECT_EQ(event_info(150).klass, EventClass::alarm);  // defined (elevator)
  EXPECT_FALSE(event_info(160).defined);
  EXPECT_EQ(event_info(160).klass, EventClass::alarm);
  EXPECT_EQ(event_info(256).klass, EventClass::unknown);
  EXPECT_EQ(event_info(-1).klass, EventClass::unknown);
  EXPECT_EQ(event_info(3999).klass, EventClass::unknown);
  EXPECT_EQ(event_info(7000).klass, EventClass::unknown);
}

TEST(Events, ExtendedRangesOfAppendix19) {
  EventInfo normal = event_info(4000);
  EXPECT_TRUE(normal.defined);
  EXPECT_EQ(normal.klass, EventClass::normal);
  EventInfo error = event_info(5000);
  EXPECT_TRUE(error.defined);
  EXPECT_EQ(error.klass, EventClass::error);  // "abnormal" in the catalogue
  EventInfo warning = event_info(6010);
  EXPECT_TRUE(warning.defined);
  EXPECT_EQ(warning.klass, EventClass::alarm);  // "warning" in the catalogue
  EXPECT_FALSE(event_info(4014).defined);
  EXPECT_EQ(event_info(4999).klass, EventClass::normal);
  EXPECT_EQ(event_info(5023).klass, EventClass::error);
  EXPECT_FALSE(event_info(6999).defined);
  EXPECT_EQ(event_info(6999).klass, EventClass::alarm);
}

// The API filters events by class through the classes' code ranges: every code the catalogue
// defines must have its range's class, as the catalogue words it (abnormal, warning included).
TEST(Events, CatalogueClassesAreTheirRanges) {
  for (const char* id : {"events", "extended_events"}) {
    for (const auto& e : find_enum(id)->entries) {
      const auto code = text::parse_int(e.code);
      ASSERT_TRUE(code) << id << " " << e.code;
      EXPECT_EQ(event_info(*code).class_name, e.klass) << id << " " << e.code;
    }
  }
  EXPECT_EQ(event_info(5000).class_name, "abnormal");
  EXPECT_EQ(event_info(6010).class_name, "warning");
  EXPECT_EQ(event_info(27).class_name, "error");
  EXPECT_EQ(event_info(255).class_name, "special");
  EXPECT_EQ(event_info(256).class_name, "");
  ASSERT_NE(find_event_class("normal"), nullptr);
  EXPECT_EQ(find_event_class("normal")->ranges.size(), 3u);
  EXPECT_EQ(find_event_class("Normal"), nullptr);
  EXPECT_EQ(event_classes().size(), 6u);
}

// 238 is announced by the revision history but missing from the table; 46 and 253 are undefined;
// the lost colour marks are not reconstructed. Undefined codes have no name and their range's class.
TEST(Events, Ambiguity43_UndefinedCodesKeepRangeClass) {
  for (int code : {46, 238, 253}) {
    EventInfo e = event_info(code);
    EXPECT_FALSE(e.defined) << code;
    EXPECT_TRUE(e.name.empty()) << code;
  }
  EXPECT_EQ(event_info(46).klass, EventClass::error);
  EXPECT_EQ(event_info(238).klass, EventClass::normal);
  EXPECT_EQ(event_info(253).klass, EventClass::normal);
  EXPECT_TRUE(event_info(237).defined);
  EXPECT_TRUE(event_info(239).defined);
}

TEST(Events, TableAgreesWithTheCatalogue) {
  YAML::Node events = testing::load_spec("enums.yaml")["events"];
  int defined = 0;
  for (int code = 0; code <= 255; ++code) defined += event_info(code).defined ? 1 : 0;
  EXPECT_EQ(defined, events["count"].as<int>());
  for (const auto& code : events["not_listed"]) EXPECT_FALSE(event_info(code.as<int>()).defined) << code.as<int>();
  YAML::Node ext = testing::load_spec("enums.yaml")["extended_events"];
  int ext_defined = 0;
  for (int code = 4000; code <= 6999; ++code) ext_defined += event_info(code).defined ? 1 : 0;
  EXPECT_EQ(ext_defined, ext["count"].as<int>());
}

// ---- verification modes, return codes, error log ---------------------------------------------------------

TEST(VerifyModes, Appendix3) {
  EXPECT_EQ(verify_mode_name(0).value_or(""), "Vein, face, fingerprint, card, or password (automatically identified)");
  EXPECT_EQ(verify_mode_name(4).value_or(""), "Card only");
  EXPECT_EQ(verify_mode_name(15).value_or(""), "Face");
  EXPECT_EQ(verify_mode_name(29).value_or(""), "Palm, fingerprint and face");
  EXPECT_EQ(verify_mode_name(200).value_or(""), "Other");
  EXPECT_FALSE(verify_mode_name(30).has_value());
  EXPECT_FALSE(verify_mode_name(-1).has_value());
}

TEST(ReturnCodes, Appendix1) {
  EXPECT_EQ(return_code_name(0).value_or(""), "Successful");
  EXPECT_EQ(return_code_name(5).value_or(""), "Successful");  // counts of QUERY/COUNT/ACCOUNT
  EXPECT_EQ(return_code_name(-629).value_or(""), "Incorrect table name");
  EXPECT_EQ(return_code_name(-1).value_or(""), "Failed to send the command");
  EXPECT_EQ(return_code_name(-1001), std::nullopt);
  EXPECT_FALSE(return_code_name(-29).has_value());
  // -5000 comes from 7.4, not the appendix table; its name is a clean phrase.
  auto pending = return_code_name(-5000);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->find("(7.4)"), std::string_view::npos);
  EXPECT_NE(pending->find("sub-controller"), std::string_view::npos);
  EXPECT_EQ(pending->find("ADSCREEN_O "), std::string_view::npos);
}

TEST(ErrorLog, Appendix17) {
  EXPECT_EQ(errorlog_code_name("00000000").value_or(""), "Successful");
  EXPECT_EQ(errorlog_code_name("D01E0001").value_or(""), "Face detection failed");
  EXPECT_EQ(errorlog_code_name("d01e0006").value_or(""), "Failed to extract the template");  // any case
  EXPECT_FALSE(errorlog_code_name("D01E0007").has_value());
}

// ---- other tables ------------------------------------------------------------------------------------

TEST(OtherTables, BiometricTypes) {
  EXPECT_EQ(biometric_type_name(0).value_or(""), "general / common");
  EXPECT_EQ(biometric_type_name(1).value_or(""), "fingerprint");
  EXPECT_EQ(biometric_type_name(9).value_or(""), "visible light face");
  EXPECT_EQ(biometric_type_name(10).value_or(""), "visible light palm");
  EXPECT_FALSE(biometric_type_name(11).has_value());
}

TEST(OtherTables, MachineTypesLanguagesPrivileges) {
  EXPECT_EQ(machine_type_name(101).value_or(""), "PULL SDK Device");
  EXPECT_EQ(machine_type_name(2).value_or(""), "C3-400");
  EXPECT_FALSE(machine_type_name(11).has_value());
  EXPECT_EQ(language_name(83).value_or(""), "Simplified Chinese");
  EXPECT_EQ(language_name(69).value_or(""), "English");
  EXPECT_FALSE(language_name(1).has_value());
  EXPECT_EQ(privilege_name(0).value_or(""), "common user");
  EXPECT_EQ(privilege_name(14).value_or(""), "super administrator");
  EXPECT_FALSE(privilege_name(1).has_value());
}

TEST(OtherTables, EveryCatalogueKeyIsATable) {
  YAML::Node enums = testing::load_spec("enums.yaml");
  for (const auto& entry : enums) {
    const std::string id = entry.first.as<std::string>();
    if (id == "meta") continue;
    EXPECT_NE(find_enum(id), nullptr) << id;
  }
  EXPECT_EQ(find_enum("no_such_table"), nullptr);
  EXPECT_EQ(find_enum_entry("no_such_table", "1"), nullptr);
}

TEST(OtherTables, GroupsAndCatalogueRemarksStayOut) {
  const EnumEntry* open = find_enum_entry("rtstate_layout", "0b10", "sensor");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->name, "door open");  // no catalogue commentary in the name
  EXPECT_NE(find_enum_entry("rtstate_layout", "0x02", "alarm"), nullptr);
  EXPECT_EQ(find_enum_entry("rtstate_layout", "0x02", "sensor"), nullptr);
  EXPECT_NE(find_enum_entry("enroll", "1", "MODE"), nullptr);
  // Names are never cut inside a word.
  for (const EnumTable& t : all_enums())
    for (const EnumEntry& e : t.entries) {
      EXPECT_LE(e.name.size(), 120u) << t.id << " " << e.code;
      EXPECT_EQ(e.name.find("(manual"), std::string_view::npos) << t.id << " " << e.code;
    }
  const EnumEntry* ai = find_enum_entry("acc_support_fun_list", "44");
  ASSERT_NE(ai, nullptr);
  EXPECT_EQ(ai->name, "Whether the device can connect to an AI device");
}

TEST(OtherTables, NationsGenderAndVfNames) {
  EXPECT_NE(find_enum_entry("nation_codes", "1"), nullptr);
  EXPECT_EQ(find_enum_entry("nation_codes", "1")->name, "Han");
  EXPECT_EQ(find_enum_entry("nation_codes", "98")->name, "Foreign Origin");
  EXPECT_EQ(find_enum_entry("gender", "2")->name, "female");
  EXPECT_EQ(find_enum_entry("new_vf_styles", "11")->name, "RF");
  EXPECT_EQ(find_enum_entry("apb_values", "196")->code, "196");
}

}  // namespace
}  // namespace zkpush::protocol
