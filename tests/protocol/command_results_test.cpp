// devicecmd result lines: parsing whatever firmware sends, exact formatting, matching to commands
// by ID, and reading Return according to the verb of the command it answers.
#include "protocol/command_results.hpp"

#include <gtest/gtest.h>

#include "protocol/command_builders.hpp"

namespace zkpush::protocol {
namespace {

CommandResult parsed(std::string_view line) {
  auto r = parse_command_result(line);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? *r : CommandResult{};
}

Command command(Result<Command> r) {
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : Command{};
}

TEST(CommandResults, ParsesTheFourFields) {
  CommandResult r = parsed("ID=9&Return=-5000&CMD=DATA UPDATE&SN=DDG7012017010600049");
  EXPECT_EQ(r.id, "9");
  EXPECT_EQ(r.return_code, -5000);
  EXPECT_EQ(r.return_text, "-5000");
  EXPECT_EQ(r.cmd, "DATA UPDATE");
  EXPECT_EQ(r.sn, "DDG7012017010600049");
  EXPECT_TRUE(r.extra_fields().empty());
  EXPECT_EQ(format_command_result(r), "ID=9&Return=-5000&CMD=DATA UPDATE&SN=DDG7012017010600049");
}

TEST(CommandResults, FormatsBuiltResultsExactly) {
  CommandResult r = make_command_result("291", 41, "ACCOUNT", std::nullopt,
                                        {Field{"transaction", "", false}, Field{"StartTime", ""}, Field{"EndTime", ""},
                                         Field{"RecordSum", "41"}});
  EXPECT_EQ(format_command_result(r), "ID=291&Return=41&CMD=ACCOUNT&transaction&StartTime=&EndTime=&RecordSum=41");
  auto back = parse_command_result(format_command_result(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
  CommandResult sub = make_command_result("5", 0, "CONTROL DEVICE", "SUB1");
  EXPECT_EQ(format_command_result(sub), "ID=5&Return=0&CMD=CONTROL DEVICE&SN=SUB1");
  EXPECT_EQ(*parse_command_result(format_command_result(sub)), sub);
}

TEST(CommandResults, ResultForACommandUsesItsVerbName) {
  Command c = command(data_query(415, "user"));
  EXPECT_EQ(format_command_result(make_command_result(c, 3)), "ID=415&Return=3&CMD=DATA QUERY");
  Command host = command(test_host(295, "1.2.3.4", 80));
  EXPECT_EQ(format_command_result(make_command_result(host, -2, "S1")), "ID=295&Return=-2&CMD=Test Host&SN=S1");
}

TEST(CommandResults, SeveralPerBodyLfOrCrLf) {
  auto rs = parse_command_results("ID=1&Return=0&CMD=DATA\r\nID=2&return=-629&CMD=DATA QUERY\n\nID=3&Return=4&CMD=DATA\n");
  ASSERT_TRUE(rs.ok()) << rs.error().to_string();
  ASSERT_EQ(rs->size(), 3u);
  EXPECT_EQ((*rs)[1].return_code, -629);
  EXPECT_EQ(format_command_results(*rs), "ID=1&Return=0&CMD=DATA\nID=2&Return=-629&CMD=DATA QUERY\nID=3&Return=4&CMD=DATA");
  std::string nul_tail = "ID=1&Return=0&CMD=DATA UPDATE";
  nul_tail += '\0';
  EXPECT_TRUE(parse_command_results(nul_tail).ok());
  EXPECT_TRUE(parse_command_results("")->empty());
}

TEST(CommandResults, TrailingTabAndSpacesAroundValues) {
  CommandResult r = parsed("ID=1&Return= 0&CMD=DATA UPDATE\t");
  EXPECT_EQ(r.return_code, 0);
  EXPECT_EQ(r.return_text, "0");  // the ampersand-list layer trims values
  EXPECT_EQ(r.cmd, "DATA UPDATE");
}

TEST(CommandResults, MalformedResultsAreErrors) {
  EXPECT_EQ(parse_command_result("").error().code, Errc::incomplete);
  EXPECT_EQ(parse_command_result("Return=0&CMD=DATA").error().code, Errc::incomplete);
  EXPECT_EQ(parse_command_result("ID=&Return=0").error().code, Errc::incomplete);
  EXPECT_EQ(parse_command_result("ID=1&CMD=DATA").error().code, Errc::incomplete);
  EXPECT_EQ(parse_command_result("ID=1&Return=ok&CMD=DATA").error().code, Errc::bad_value);
  EXPECT_EQ(parse_command_result("ID=1&Return=&CMD=DATA").error().code, Errc::bad_value);
  EXPECT_EQ(parse_command_result("ID=1&Return=99999999999999999999&CMD=DATA").error().code, Errc::bad_value);
  auto body = parse_command_results("ID=1&Return=0&CMD=DATA\nID=2&Return=x&CMD=DATA");
  ASSERT_FALSE(body.ok());
  EXPECT_NE(body.error().where.find("line 2"), std::string::npos);
  EXPECT_EQ(parse_command_results(std::string(max_results_body + 1, 'I')).error().code, Errc::too_large);
}

TEST(CommandResults, FindCommandByIdOnly) {
  std::vector<Command> queue{command(data_update(7, "user", Record{{"Pin", "1"}})), command(data_query(8, "user"))};
  EXPECT_EQ(find_command_for(parsed("ID=8&Return=3&CMD=DATA COUNT"), queue), &queue[1]);
  EXPECT_EQ(find_command_for(parsed("ID=007&Return=0&CMD=DATA"), queue), &queue[0]);
  EXPECT_EQ(find_command_for(parsed("ID=9&Return=0&CMD=DATA UPDATE"), queue), nullptr);
  EXPECT_EQ(find_command_for(parsed("ID=x7&Return=0&CMD=DATA UPDATE"), queue), nullptr);
}

TEST(CommandResults, InterpretReturnByVerb) {
  EXPECT_EQ(interpret_return(Verb::data_update, 0).kind, ReturnKind::status_ok);
  EXPECT_EQ(interpret_return(Verb::control_device, 1).kind, ReturnKind::status_ok);
  ReturnMeaning failed = interpret_return(Verb::set_options, -612);
  EXPECT_EQ(failed.kind, ReturnKind::status_failed);
  ASSERT_TRUE(failed.name.has_value());
  EXPECT_EQ(*failed.name, "The device failed to save the parameter");
  EXPECT_FALSE(failed.succeeded());
  EXPECT_EQ(interpret_return(Verb::data_query, 3).kind, ReturnKind::count);
  EXPECT_EQ(interpret_return(Verb::data_query, 3).value, 3);
  EXPECT_EQ(interpret_return(Verb::account, 0).kind, ReturnKind::count);
  // A firmware without the table answers a QUERY with -629.
  ReturnMeaning no_table = interpret_return(Verb::data_query, -629);
  EXPECT_EQ(no_table.kind, ReturnKind::status_failed);
  EXPECT_EQ(*no_table.name, "Incorrect table name");
  ReturnMeaning pending = interpret_return(Verb::data_update, -5000);
  EXPECT_EQ(pending.kind, ReturnKind::pending);
  EXPECT_FALSE(pending.final());
  EXPECT_FALSE(pending.succeeded());
  ReturnMeaning again = interpret_return(Verb::control_device, -7);
  EXPECT_EQ(again.kind, ReturnKind::repeated);
  EXPECT_EQ(*again.name, "Repeated command");
  EXPECT_EQ(interpret_return(Verb::unknown, -99999).name, std::nullopt);
  EXPECT_STREQ(return_kind_name(ReturnKind::count), "count");
}

TEST(CommandResultsAmbiguity, Ambiguity12_ReturnKeyInAnyCaseWrittenReturn) {
  for (const char* line : {"ID=1&return=0&CMD=DATA", "ID=1&RETURN=0&CMD=DATA", "id=1&Return=0&cmd=DATA"}) {
    CommandResult r = parsed(line);
    EXPECT_EQ(r.id, "1") << line;
    EXPECT_EQ(r.return_code, 0) << line;
    EXPECT_EQ(r.cmd, "DATA") << line;
    EXPECT_EQ(format_command_result(r), "ID=1&Return=0&CMD=DATA") << line;
  }
}

TEST(CommandResultsAmbiguity, Ambiguity13_MatchedByIdWhateverCmdSays) {
  std::vector<Command> queue{command(set_options(405, Record{{"Door1Drivertime", "5"}})), command(test_host(295, "1.2.3.4", 80)),
                             command(data_query(415, "user"))};
  for (const char* line : {"ID=405&Return=0&CMD=SET_OPTIONS", "ID=295&Return=0&CMD=Test(SP)Host", "ID=415&return=3&CMD=DATA",
                           "ID=415&return=3&CMD=DATA COUNT"}) {
    CommandResult r = parsed(line);
    const Command* c = find_command_for(r, queue);
    ASSERT_NE(c, nullptr) << line;
    EXPECT_EQ(c->id, r.id);
  }
  // CMD is still decoded when it names one verb, for logs.
  EXPECT_EQ(verb_of_result_cmd("SET_OPTIONS"), Verb::set_options);
  EXPECT_EQ(verb_of_result_cmd("DATA"), std::nullopt);
  EXPECT_EQ(verb_of_result_cmd("ACCOUNT"), Verb::account);
}

TEST(CommandResultsAmbiguity, Ambiguity14_ReturnIsACountForQueryCountAndAccount) {
  // QUERY: number of records sent; COUNT: 0 in the manual (the count itself came in querydata);
  // ACCOUNT: the number of records. All three are counts, never error codes when >= 0.
  EXPECT_EQ(interpret_return(Verb::data_query, 2).kind, ReturnKind::count);
  EXPECT_EQ(interpret_return(Verb::data_count, 0).kind, ReturnKind::count);
  EXPECT_EQ(interpret_return(Verb::account, 41).value, 41);
  // The same number after a status verb is a plain success.
  EXPECT_EQ(interpret_return(Verb::data_delete, 2).kind, ReturnKind::status_ok);
}

TEST(CommandResultsAmbiguity, Ambiguity14_AdscreenFirstResultPrintedWithoutMinus) {
  EXPECT_EQ(interpret_return(Verb::set_adscreen_options, -5000).kind, ReturnKind::pending);
  EXPECT_EQ(interpret_return(Verb::set_adscreen_options, 5000).kind, ReturnKind::pending);
  EXPECT_EQ(interpret_return(Verb::set_adscreen_options, 0).kind, ReturnKind::status_ok);
  EXPECT_EQ(interpret_return(Verb::set_adscreen_options, -618).kind, ReturnKind::status_failed);
  // Only that verb: elsewhere 5000 is an ordinary non-negative status.
  EXPECT_EQ(interpret_return(Verb::data_update, 5000).kind, ReturnKind::status_ok);
  EXPECT_EQ(interpret_return(Verb::data_query, 5000).kind, ReturnKind::count);
}

}  // namespace
}  // namespace zkpush::protocol
