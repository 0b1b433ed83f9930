// Lockouts after refused device tokens (service/lockouts.hpp, docs/security-devices.md): the ones in
// force, and the installer's way to lift one before it expires (a panel whose token was fixed, an
// address a misconfigured batch of panels got locked). Lifting is an API write: the audit log has it.
#include <spdlog/spdlog.h>

#include <string>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace {

namespace p = protocol;

Json lockout_json(const service::Lockout& l) {
  return Json{{"scope", service::lock_scope_name(l.scope)}, {"key", l.key},       {"sn", l.sn},
              {"address", l.address},                      {"failures", l.failures}, {"since", l.since},
              {"until", l.until}};
}

void list_lockouts(service::Lockouts* lockouts, const Call& c) {
  if (!lockouts) return answer_error(c.respond, c.who, 503, "lockouts are not available on this server");
  Json out = Json::array();
  for (const auto& l : lockouts->list()) out.push_back(lockout_json(l));
  answer_json(c.respond, 200, out);
}

void lift_lockout(service::Lockouts* lockouts, const Call& c) {
  if (!lockouts) return answer_error(c.respond, c.who, 503, "lockouts are not available on this server");
  const std::string& scope = c.params.at(0);
  const std::string& key = c.params.at(1);
  if (scope != "device" && scope != "address")
    return answer_error(c.respond, c.who, 400, "scope: device or address, not " + p::text::quoted(scope));
  const auto which = scope == "device" ? service::LockScope::device : service::LockScope::address;
  if (!lockouts->lift(which, key))
    return answer_error(c.respond, c.who, 404, "no lockout of " + scope + " " + p::text::quoted(key) + " in force");
  spdlog::info("{}: lockout of {} {} lifted", c.who, scope, p::text::printable(key));
  answer_json(c.respond, 200, Json{{"deleted", true}});
}

}  // namespace

void add_lockout_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  service::Lockouts* lockouts = services.lockouts;
  table.add({V::get, "/api/v1/lockouts", Role::viewer, "listLockouts",
             "Serial numbers and addresses locked out after repeated wrong device tokens, oldest first", "",
             "200 Lockout[]", {}, [lockouts](Call& c) { list_lockouts(lockouts, c); }});
  table.add({V::delete_, "/api/v1/lockouts/{scope}/{key}", Role::admin, "liftLockout",
             "Lifts the lockout of a serial number (scope device) or a peer address (scope address) and forgets "
             "its refused tokens; 404 when none is in force",
             "", "200 Deleted", {}, [lockouts](Call& c) { lift_lockout(lockouts, c); }});
}

}  // namespace zkpush::front::api
