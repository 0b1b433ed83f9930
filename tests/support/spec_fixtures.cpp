#include "support/spec_fixtures.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace zkpush::testing {

std::filesystem::path spec_dir() {
  if (const char* env = std::getenv("ZKPUSH_SPEC_DIR"); env && *env) return env;
  return ZKPUSH_SPEC_DIR;
}

std::filesystem::path source_dir() { return ZKPUSH_SOURCE_DIR; }
std::filesystem::path zkpush_binary() { return ZKPUSH_BINARY; }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

YAML::Node load_spec(const std::string& file) { return YAML::LoadFile((spec_dir() / file).string()); }

std::vector<const FixtureBlock*> Fixture::blocks_of(const std::string& kind) const {
  std::vector<const FixtureBlock*> out;
  for (const auto& b : blocks)
    if (b.kind == kind) out.push_back(&b);
  return out;
}

bool Fixture::has_placeholder() const {
  for (const auto& b : blocks) {
    if (b.kind == "VERBATIM") continue;
    if (b.content.find("<<") != std::string::npos || b.content.find("${") != std::string::npos ||
        b.content.find("%?") != std::string::npos || b.content.find("$(") != std::string::npos)
      return true;
  }
  return false;
}

std::vector<std::string> fixture_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(spec_dir() / "examples"))
    if (entry.path().extension() == ".txt") files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

Fixture load_fixture(const std::string& file) {
  Fixture fx;
  fx.file = file;
  std::string text = read_file(spec_dir() / "examples" / file);

  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    if (end == text.size()) break;
    start = end + 1;
  }

  std::size_t i = 0;
  bool in_notes = false;
  for (; i < lines.size() && lines[i].rfind("=== ", 0) != 0; ++i) {
    const std::string& l = lines[i];
    auto value = [&](const char* key) -> bool {
      std::string p = std::string("# ") + key + ": ";
      if (l.rfind(p, 0) == 0) return true;
      return false;
    };
    if (value("section")) fx.section = l.substr(11);
    else if (value("title")) fx.title = l.substr(9);
    else if (value("status")) fx.status = l.substr(10);
    else if (l == "# notes:") in_notes = true;
    else if (in_notes && l.rfind("#   - ", 0) == 0) fx.notes.push_back(l.substr(6));
  }

  // A block is every line up to the next "=== " header, joined by LF (so the newline before the
  // next header is not part of it). The file's own final newline is not a line.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<std::vector<std::string>> contents;
  for (; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.rfind("=== ", 0) == 0 && l.size() >= 8 && l.compare(l.size() - 4, 4, " ===") == 0) {
      std::string head = l.substr(4, l.size() - 8);
      FixtureBlock b;
      std::size_t sp = head.find(' ');
      b.kind = head.substr(0, sp);
      if (sp != std::string::npos) {
        std::string rest = head.substr(sp + 1);
        if (!rest.empty() && std::all_of(rest.begin(), rest.end(), ::isdigit)) b.index = std::stoi(rest);
        else b.label = rest;
      }
      fx.blocks.push_back(b);
      contents.emplace_back();
      continue;
    }
    if (!contents.empty()) contents.back().push_back(l);
  }
  for (std::size_t b = 0; b < fx.blocks.size(); ++b) {
    for (std::size_t k = 0; k < contents[b].size(); ++k) {
      if (k) fx.blocks[b].content += '\n';
      fx.blocks[b].content += contents[b][k];
    }
  }
  return fx;
}

std::string to_wire(const std::string& http_block) {
  std::size_t blank = http_block.find("\n\n");
  std::string head = blank == std::string::npos ? http_block : http_block.substr(0, blank);
  std::string body = blank == std::string::npos ? std::string() : http_block.substr(blank + 2);
  std::string out;
  std::size_t start = 0;
  while (start <= head.size()) {
    std::size_t end = head.find('\n', start);
    if (end == std::string::npos) end = head.size();
    out += head.substr(start, end - start);
    out += "\r\n";
    if (end == head.size()) break;
    start = end + 1;
  }
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace zkpush::testing
