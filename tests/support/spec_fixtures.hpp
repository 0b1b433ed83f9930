// Access to the protocol catalogue (../shared/spec) from tests: its YAML files and the example
// fixtures of the manual (examples/*.txt, format described in the catalogue's README).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace zkpush::testing {

// The catalogue folder: $ZKPUSH_SPEC_DIR if set, else the path CMake was configured with.
std::filesystem::path spec_dir();
// The repository root (for fixtures of our own under tests/fixtures).
std::filesystem::path source_dir();
// build/zkpush, for tests that run the binary.
std::filesystem::path zkpush_binary();

YAML::Node load_spec(const std::string& file);  // "tables.yaml", ...

struct FixtureBlock {
  std::string kind;     // REQUEST, RESPONSE, COMMAND, RESULT, FILE, VERBATIM
  int index = 0;        // 1-based number when the fixture has several of that kind, else 0
  std::string label;    // the name of a FILE block
  std::string content;  // everything up to the next "=== " line, minus the final newline
};

struct Fixture {
  std::string file;  // "7.2-rtlog.txt"
  std::string section, title, status;
  std::vector<std::string> notes;
  std::vector<FixtureBlock> blocks;

  std::vector<const FixtureBlock*> blocks_of(const std::string& kind) const;
  bool has_placeholder() const;  // "<<...>>" bodies or "${...}" / "%?" values of the manual
};

std::vector<std::string> fixture_files();  // every examples/*.txt, sorted
Fixture load_fixture(const std::string& file);

std::string read_file(const std::filesystem::path& path);

// A request block as it would travel on a socket: header lines end in CRLF, the body is kept
// byte for byte (the fixtures store LF line endings).
std::string to_wire(const std::string& http_block);

}  // namespace zkpush::testing
