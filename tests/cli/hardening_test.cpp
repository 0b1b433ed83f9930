// The binary that ships is hardened (cmake/Hardening.cmake, issue 15): a position-independent
// executable with full RELRO — a PT_GNU_RELRO segment and BIND_NOW, so the GOT is read-only once
// the program is loaded — read from build/zkpush's own ELF headers.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace zkpush::cli {
namespace {

struct ElfFacts {
  bool read = false;
  bool pie = false;        // ET_DYN with DF_1_PIE, or ET_DYN with an interpreter
  bool relro = false;      // a PT_GNU_RELRO segment
  bool bind_now = false;   // DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW
  bool interpreter = false;
};

ElfFacts read_elf(const std::string& path) {
  ElfFacts f;
  // One read of the whole file (a character at a time took minutes for the sanitizer build's binary).
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return f;
  std::vector<char> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) return f;
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0 ||
      bytes[EI_CLASS] != ELFCLASS64)
    return f;
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  f.read = true;
  bool df1_pie = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    const std::size_t at = eh.e_phoff + static_cast<std::size_t>(i) * eh.e_phentsize;
    if (at + sizeof(Elf64_Phdr) > bytes.size()) break;
    Elf64_Phdr ph;
    std::memcpy(&ph, bytes.data() + at, sizeof ph);
    if (ph.p_type == PT_GNU_RELRO) f.relro = true;
    if (ph.p_type == PT_INTERP) f.interpreter = true;
    if (ph.p_type != PT_DYNAMIC) continue;
    for (std::size_t d = ph.p_offset; d + sizeof(Elf64_Dyn) <= ph.p_offset + ph.p_filesz && d + sizeof(Elf64_Dyn) <= bytes.size();
         d += sizeof(Elf64_Dyn)) {
      Elf64_Dyn dyn;
      std::memcpy(&dyn, bytes.data() + d, sizeof dyn);
      if (dyn.d_tag == DT_NULL) break;
      if (dyn.d_tag == DT_BIND_NOW) f.bind_now = true;
      if (dyn.d_tag == DT_FLAGS && (dyn.d_un.d_val & DF_BIND_NOW)) f.bind_now = true;
      if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_NOW)) f.bind_now = true;
      if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE)) df1_pie = true;
    }
  }
  f.pie = eh.e_type == ET_DYN && (df1_pie || f.interpreter);
  return f;
}

TEST(Hardening, TheBinaryIsAPositionIndependentExecutableWithFullRelro) {
  const auto f = read_elf(ZKPUSH_BINARY);
  ASSERT_TRUE(f.read) << ZKPUSH_BINARY << " is not a 64-bit ELF file";
  EXPECT_TRUE(f.pie) << "not a position-independent executable";
  EXPECT_TRUE(f.relro) << "no PT_GNU_RELRO segment";
  EXPECT_TRUE(f.bind_now) << "no BIND_NOW: RELRO is partial";
}

}  // namespace
}  // namespace zkpush::cli
