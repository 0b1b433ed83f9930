// Multi-level control (docs/serve.md "Multi-level control"): a master's sub-controllers as its
// DeviceAuthorize table reported them, and the operator's side of the two-step authorization
// (service/sub_controllers.hpp). Commands for an authorized sub-controller use the ordinary routes
// with its serial number.
#include <spdlog/spdlog.h>

#include <string>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace {

namespace p = protocol;

Json step_json(const service::SubControllers::Step& step) {
  return Json{{"sub_controller", sub_controller_json(step.sub)},
              {"command_id", step.command_id != 0 ? Json(step.command_id) : Json(nullptr)}};
}

void list_subs(storage::Store& store, const Call& c) {
  const std::string master = c.params.at(0);
  struct Found {
    bool known = false;
    std::vector<storage::SubController> subs;
  };
  store.read(
      [master](storage::Reads& r) {
        return Found{r.devices().get_row(master).has_value(), r.devices().sub_controllers(master)};
      },
      [master, who = c.who, respond = c.respond](storage::StoreResult<Found> r) {
        if (!r.ok()) return answer_store_refusal(respond, who, r.error());
        if (!r->known) return answer_error(respond, who, 404, "unknown device " + p::text::quoted(master));
        Json out = Json::array();
        for (const auto& s : r->subs) out.push_back(sub_controller_json(s));
        answer_json(respond, 200, out);
      });
}

// authorize (true) or de-authorize (false).
void step(service::SubControllers* subs, const Call& c, bool authorize) {
  if (!subs) return answer_error(c.respond, c.who, 503, "multi-level control is not available on this server");
  if (c.request.body().find_first_not_of(" \t\r\n") != std::string::npos)
    return answer_error(c.respond, c.who, 400, "unknown field: this call takes no body");
  const std::string master = c.params.at(0);
  const std::string sub = c.params.at(1);
  auto done = [master, sub, authorize, who = c.who,
               respond = c.respond](storage::StoreResult<service::SubControllers::Step> r) {
    if (!r.ok()) return answer_store_refusal(respond, who, r.error());
    spdlog::info("{}: sub-controller {} {} through the API (command {})", master, sub,
                 authorize ? "authorization asked" : "de-authorized", r->command_id);
    answer_json(respond, 200, step_json(r.value()));
  };
  if (authorize)
    subs->authorize(master, sub, std::move(done));
  else
    subs->deauthorize(master, sub, std::move(done));
}

}  // namespace

void add_sub_controller_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  storage::Store* store = &services.store;
  service::SubControllers* subs = services.sub_controllers;
  table.add({V::get, "/api/v1/devices/{sn}/sub-controllers", Role::viewer, "listSubControllers",
             "The sub-controllers a master reported in its DeviceAuthorize table (404 unknown device)", "",
             "200 SubController[]", {}, [store](Call& c) { list_subs(*store, c); }});
  table.add({V::post, "/api/v1/devices/{sn}/sub-controllers/{sub}/authorize", Role::operator_, "authorizeSubController",
             "Starts the two-step authorization of a sub-controller (DATA UPDATE DeviceAuthorize IsAuthorize=1; "
             "IsAuthorize=2 follows once its registration info came); 404 not a sub-controller of that master",
             "", "200 SubControllerStep", {}, [subs](Call& c) { step(subs, c, true); }});
  table.add({V::delete_, "/api/v1/devices/{sn}/sub-controllers/{sub}", Role::operator_, "deauthorizeSubController",
             "De-authorizes a sub-controller (DATA DELETE DeviceAuthorize SN=<sub>); commands for it are refused "
             "from now on; 404 not a sub-controller of that master",
             "", "200 SubControllerStep", {}, [subs](Call& c) { step(subs, c, false); }});
}

}  // namespace zkpush::front::api
