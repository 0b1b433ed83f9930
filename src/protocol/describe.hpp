// The "decoded" view of protocol data: what each field of a record means, as JSON.
//
// Used by `zkpush decode` and the server's JSON API. The output is an object with one member per
// field, in the record's order (nlohmann::ordered_json; assignable to nlohmann::json, which then
// sorts the keys). Each member is the field's meaning:
//   event / eventtype          {"code":27,"name":"The user is not registered","class":"error"}
//   verifytype, verified...    {"code":0,"name":"..."} or, for a VERIFY_TYPE bit string,
//                              {"bits":"0000101000000011","logic":"and","methods":["FACE","PW","RF"]}
//   cardno                     {"decimal":"123456789","form":"bracket_hex"}
//   datetime, zktime fields    "2018-02-27T14:51:00" (device wall clock, no zone)
//   user StartTime/EndTime     {"iso":"...","form":"zktime"} / {"date":"...","form":"date8"} /
//                              {"form":"unlimited"}; "guessed":true when DateFmtFunOn was not known
//   time periods               "08:30-12:00", "none" for 0
//   door masks, floors         [1,2] / [8,9]
//   enumerated fields          {"code":2,"name":"registrar"} ("name": null for an unknown code)
//   Return                     {"code":-629,"name":"Incorrect table name","success":false}
//   inoutstatus                "in" / "out"
//   text                       the text as valid UTF-8 (GB2312 names of language-83 devices converted)
//   base64                     {"chars":1808,"bytes":1356}
//   anything else              the value as sent (numbers of integer fields as JSON numbers)
// A value that does not decode becomes {"raw":"...","error":"..."}. rtstate records get an extra
// member "doors": [{"door":1,"sensor":"none","relay":"connected","alarms":["tamper alarm"]}, ...].
// Every string in the output is valid UTF-8.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/fields.hpp"

namespace zkpush::protocol {

// What is known about the device the data came from. Every member has a usable default.
struct DescribeContext {
  int language = 0;                     // Appendix 4 code; 83: invalid UTF-8 text is read as GB18030
  std::optional<bool> date_fmt_zktime;  // DateFmtFunOn=1; unknown: guessed per value
  bool one_door_authorize = false;      // AccSupportFunList[15]: AuthorizeDoorId is one door number
  int door_count = 0;                   // LockCount, for rtstate; 0: as many as the data covers
};

// Fills the context from registry / options parameters (Language, DateFmtFunOn,
// AccSupportFunList, LockCount), keeping `base` for what the record does not say.
DescribeContext context_from_options(const Record& options, DescribeContext base = {});

// A record of `table` (tables.yaml name, any case; "" or an unknown name: fields are described by
// their key alone). The table "options" is described like describe_options().
nlohmann::ordered_json describe_record(std::string_view table, const Record& record, const DescribeContext& ctx = {});

// Registry bodies (4.4), options uploads (4.6), GET/SET OPTIONS lists, push-config answers:
// capability bitmaps and lists decoded (VerifyStyles, EventTypes, New*EventTypes,
// AccSupportFunList, QRCodeDecryptFunList, MultiBio*, NewVFStyles), codes named (MachineType,
// Language, ...), versions parsed. A leading '~' of a key is ignored for matching.
nlohmann::ordered_json describe_options(const Record& options, const DescribeContext& ctx = {});

// One value of `table`.`key` on its own (no other fields of the record are consulted).
nlohmann::ordered_json describe_value(std::string_view table, std::string_view key, std::string_view value,
                                      const DescribeContext& ctx = {});

}  // namespace zkpush::protocol
