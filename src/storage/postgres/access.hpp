// The access-control domain's tables (storage/areas/access.hpp): persons, cards, credentials,
// time rules, holidays, access levels, door settings, anti-passback zones and presence.
#pragma once

#include "storage/areas/access.hpp"
#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

class Access final : public AccessWrites {
 public:
  explicit Access(Connection& c) : c_(c) {}

  std::optional<Person> person(const std::string& pin) override;
  std::vector<Person> persons(const std::string& after_pin, std::int64_t limit) override;
  std::int64_t person_count() override;
  std::optional<std::string> card_owner(const std::string& number) override;
  std::vector<std::string> holders(const std::vector<std::int64_t>& levels) override;
  std::optional<TimeRule> time_rule(std::int64_t id) override;
  std::vector<TimeRule> time_rules() override;
  std::optional<Holiday> holiday(std::int64_t id) override;
  std::vector<Holiday> holidays() override;
  std::optional<AccessLevel> level(std::int64_t id) override;
  std::vector<AccessLevel> levels() override;
  std::vector<AccessLevel> levels_on(const std::string& sn) override;
  std::vector<std::string> panels() override;
  std::vector<DoorSettings> door_settings(const std::string& sn) override;
  std::optional<DoorSettings> door_setting(const std::string& sn, int door) override;
  std::vector<ApbZone> apb_zones() override;
  std::optional<ApbZone> apb_zone(std::int64_t id) override;
  std::vector<ApbZone> apb_zones_at(const std::string& sn, int door) override;
  std::optional<ApbPresence> apb_presence(std::int64_t zone_id, const std::string& pin) override;
  std::vector<ApbPresence> apb_presences(std::int64_t zone_id) override;

  void insert_person(const Person& person) override;
  void update_person(const Person& person) override;
  void delete_person(const std::string& pin) override;
  std::int64_t put_credential(const std::string& pin, const Credential& credential) override;
  void delete_credential(const std::string& pin, std::int64_t id) override;
  std::int64_t insert_time_rule(const TimeRule& rule) override;
  void update_time_rule(const TimeRule& rule) override;
  void delete_time_rule(std::int64_t id) override;
  std::int64_t insert_holiday(const Holiday& holiday) override;
  void update_holiday(const Holiday& holiday) override;
  void delete_holiday(std::int64_t id) override;
  std::int64_t insert_level(const AccessLevel& level) override;
  void update_level(const AccessLevel& level) override;
  void delete_level(std::int64_t id) override;
  void move_panel(const std::string& from, const std::string& to) override;
  void put_door_settings(const DoorSettings& settings) override;
  std::int64_t insert_apb_zone(const ApbZone& zone) override;
  void update_apb_zone(const ApbZone& zone) override;
  void delete_apb_zone(std::int64_t id) override;
  void put_apb_presence(const ApbPresence& presence) override;
  std::int64_t reset_apb(std::int64_t zone_id, const std::string& pin) override;

 private:
  void write_links(const Person& p);
  void write_doors(const AccessLevel& level);
  std::vector<AccessLevel> read_levels(std::string_view sql, const std::string* sn);
  std::vector<ApbZone> read_zones(std::string_view sql, const std::string& sn, std::int64_t number);
  void write_zone_doors(const ApbZone& zone);

  Connection& c_;
};

}  // namespace zkpush::storage::postgres
