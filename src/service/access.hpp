// The access-control domain: persons (cards, credentials, levels), time rules, holidays and access levels,
// validated here, stored through storage/areas/access.hpp, and each change planned for the panels
// it concerns by the sync engine in the same unit of work (service/sync.hpp): when a call here
// answers, those panels' pending counts already hold the work.
//
// Panel enrolment: users a panel uploads (tabledata user) join the domain under a policy. With
// new_persons_only (the default) an unknown pin becomes a person marked as enrolled at that panel,
// with the uploaded card; a known person is never changed by a panel. With `all`, a card uploaded
// for a known person is added to that person too, and so reaches its other panels. A panel can
// therefore never plant a card on an existing person's other doors unless the operator chose `all`.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/fields.hpp"
#include "service/clock.hpp"
#include "service/jobs.hpp"
#include "service/sync.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

enum class Enrolment { ignore, new_persons_only, all };
std::optional<Enrolment> enrolment_from_name(std::string_view name) noexcept;  // "ignore", "new_persons_only", "all"

// Fields of a person to set; absent ones are left as they are (or the defaults on create).
struct PersonFields {
  std::optional<std::string> name, password, valid_from, valid_until;
  std::optional<int> privilege, group;
  std::optional<bool> disabled;
  std::optional<std::vector<storage::Card>> cards;
  std::optional<std::vector<std::int64_t>> levels;
};

struct LevelFields {
  std::optional<std::string> name;
  std::optional<std::int64_t> time_rule_id;
  std::optional<std::vector<storage::LevelDoor>> doors;
};

struct RuleFields {
  std::optional<std::string> name;
  std::optional<std::array<std::vector<storage::Period>, 10>> days;
};

struct HolidayFields {
  std::optional<std::string> name, start, end;
  std::optional<int> type;
  std::optional<bool> yearly;
};

// One row of an import: the pin and the fields, or why the row could not be read.
struct ImportRow {
  std::int64_t row = 0;  // 1-based, for the report
  std::string pin;
  PersonFields fields;
  std::string problem;   // set: the row is reported as failed, nothing written
};

// Checks, with the reason when refused ("" = fine).
std::string check_pin(const std::string& pin);
std::string check_person(const storage::Person& person);
std::string check_rule(const storage::TimeRule& rule);
std::string check_level(const storage::AccessLevel& level);
std::string check_holiday(const storage::Holiday& holiday);
std::string check_credential(const storage::Credential& credential);

class Access {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  Access(storage::Store& store, const Clock& clock, Sync& sync, Enrolment enrolment = Enrolment::new_persons_only);

  void create_person(const std::string& pin, const PersonFields& fields, Reply<storage::Person> done);
  void update_person(const std::string& pin, const PersonFields& fields, Reply<storage::Person> done);
  void delete_person(const std::string& pin, Reply<storage::Unit> done);
  // A credential given through the API (enrolled_at stays empty); one of the same type, finger or
  // instance, index and format is replaced. The person's panels are synced; answers the person.
  void put_credential(const std::string& pin, const storage::Credential& credential, Reply<storage::Person> done);
  void delete_credential(const std::string& pin, std::int64_t id, Reply<storage::Person> done);

  void create_rule(const RuleFields& fields, Reply<storage::TimeRule> done);
  void update_rule(std::int64_t id, const RuleFields& fields, Reply<storage::TimeRule> done);
  void delete_rule(std::int64_t id, Reply<storage::Unit> done);

  // Holidays are sent to every panel of the domain (a panel holding a door of some level); two
  // holidays may not cover the same date (a panel holds one row per date): conflict.
  void create_holiday(const HolidayFields& fields, Reply<storage::Holiday> done);
  void update_holiday(std::int64_t id, const HolidayFields& fields, Reply<storage::Holiday> done);
  void delete_holiday(std::int64_t id, Reply<storage::Unit> done);

  // Door `door` of panel `sn` (0: the panel's own settings) takes the JSON object `patch`: "name"
  // and parameters (service/doors.hpp), null unsetting one. The panel is synced.
  void set_door(const std::string& sn, int door, std::string patch, Reply<storage::DoorSettings> done);

  void create_level(const LevelFields& fields, Reply<storage::AccessLevel> done);
  void update_level(std::int64_t id, const LevelFields& fields, Reply<storage::AccessLevel> done);
  void delete_level(std::int64_t id, Reply<storage::Unit> done);

  // Global anti-passback zones (remote identification decides with them: remote_auth.hpp). A zone
  // needs a name, mode "logical" or "timed" (minutes 1-1440), and doors each "in" or "out".
  // Refused: invalid (a check above), not_found (update, delete, reset of an unknown zone).
  void create_zone(storage::ApbZone zone, Reply<storage::ApbZone> done);
  // `change` applied to the zone as stored, in the unit of work.
  void update_zone(std::int64_t id, std::function<void(storage::ApbZone&)> change, Reply<storage::ApbZone> done);
  void delete_zone(std::int64_t id, Reply<storage::Unit> done);
  // Forgets where persons stand in the zone: `pin` one (even one never seen), "" everyone; how many.
  void reset_zone(std::int64_t id, const std::string& pin, Reply<std::int64_t> done);

  // Creates the persons whose pin is new and updates the others with the row's fields, in units of
  // work of kImportChunk rows, each row on its own: a bad row is reported in the job and the rest
  // go on. Returns the job's id at once (jobs().get(id): progress and per-row errors).
  std::int64_t import_persons(std::vector<ImportRow> rows);
  static constexpr std::size_t kImportChunk = 500;
  const Jobs& jobs() const noexcept { return jobs_; }

  // In an upload's unit of work: users a panel uploaded (tabledata user), adopted under the
  // policy. The panels to tell the sync engine about once it committed (changed()).
  static std::vector<std::string> adopt_users(storage::Transaction& tx, Enrolment policy, const std::string& sn,
                                              const std::vector<protocol::Record>& records, std::int64_t now);
  // Likewise for templatev10, biodata, biophoto and userpic uploads: a credential joins a person
  // enrolled at that same panel, or any known person under `all`.
  static std::vector<std::string> adopt_credentials(storage::Transaction& tx, Enrolment policy, const std::string& sn,
                                                    const std::string& table, const std::vector<protocol::Record>& records,
                                                    std::int64_t now);
  Enrolment enrolment() const noexcept { return enrolment_; }
  void changed(const std::vector<std::string>& panels) { sync_.changed(panels); }

 private:
  // `change` a person's credentials in one unit of work with the sync of its panels; answers the person.
  void change_credentials(const std::string& pin, std::function<void(storage::Transaction&)> change,
                          Reply<storage::Person> done);

  storage::Store& store_;
  const Clock& clock_;
  void import_chunk(std::int64_t job, std::shared_ptr<const std::vector<ImportRow>> rows, std::size_t from);

  Sync& sync_;
  Enrolment enrolment_;
  Jobs jobs_;
};

}  // namespace zkpush::service
