#include "protocol/charset.hpp"

#include <iconv.h>

#include <cerrno>
#include <vector>

#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// One iconv conversion descriptor for the duration of a call (descriptors are not thread-safe, so
// none is shared).
class Converter {
 public:
  Converter(const char* to, const char* from) : cd_(iconv_open(to, from)) {}
  ~Converter() {
    if (ok()) iconv_close(cd_);
  }
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  // NOLINTNEXTLINE(performance-no-int-to-ptr): (iconv_t)-1 is iconv_open's failure value, by its API
  bool ok() const noexcept { return cd_ != reinterpret_cast<iconv_t>(-1); }

  // Converts all of `in`. On an invalid or truncated sequence: strict mode gives up (false);
  // lenient mode appends `replacement`, skips one byte (or the truncated tail) and goes on.
  bool convert(std::string_view in, std::string& out, bool lenient, std::string_view replacement) {
    std::vector<char> input(in.begin(), in.end());  // iconv takes a non-const input pointer
    char* src = input.data();
    std::size_t src_left = input.size();
    std::vector<char> buffer(in.size() * 4 + 16);
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // initial shift state
    while (src_left > 0) {
      char* dst = buffer.data();
      std::size_t dst_left = buffer.size();
      const std::size_t rc = iconv(cd_, &src, &src_left, &dst, &dst_left);
      out.append(buffer.data(), buffer.size() - dst_left);
      if (rc != static_cast<std::size_t>(-1)) break;
      if (errno == E2BIG) continue;  // output buffer full: flushed above, go on
      if (!lenient) return false;
      out.append(replacement);
      if (errno == EINVAL) break;  // truncated sequence at the end of the input
      ++src;                       // EILSEQ (or anything else): skip one byte
      --src_left;
      iconv(cd_, nullptr, nullptr, nullptr, nullptr);
    }
    // Flush any pending shift sequence (none for these charsets, but cheap).
    char* dst = buffer.data();
    std::size_t dst_left = buffer.size();
    iconv(cd_, nullptr, nullptr, &dst, &dst_left);
    out.append(buffer.data(), buffer.size() - dst_left);
    return true;
  }

 private:
  iconv_t cd_;
};

const char* gb_name(GbCharset c) noexcept {
  switch (c) {
    case GbCharset::gb2312: return "GB2312";
    case GbCharset::gbk: return "GBK";
    case GbCharset::gb18030: return "GB18030";
  }
  return "GB18030";
}

}  // namespace

std::optional<std::string> gb18030_to_utf8(std::string_view bytes) {
  Converter conv("UTF-8", "GB18030");
  if (!conv.ok()) return std::nullopt;
  std::string out;
  if (!conv.convert(bytes, out, false, {})) return std::nullopt;
  // Belt and braces: the result goes into JSON and databases.
  if (!text::is_valid_utf8(out)) return std::nullopt;
  return out;
}

std::string gb18030_to_utf8_lenient(std::string_view bytes) {
  Converter conv("UTF-8", "GB18030");
  if (!conv.ok()) return text::sanitize_utf8(bytes);
  std::string out;
  conv.convert(bytes, out, true, kReplacement);
  return text::sanitize_utf8(out);
}

std::optional<std::string> utf8_to_gb(std::string_view utf8, GbCharset target) {
  if (!text::is_valid_utf8(utf8)) return std::nullopt;
  Converter conv(gb_name(target), "UTF-8");
  if (!conv.ok()) return std::nullopt;
  std::string out;
  if (!conv.convert(utf8, out, false, {})) return std::nullopt;
  return out;
}

bool device_uses_gb_text(int device_language) noexcept { return device_language == kLanguageSimplifiedChinese; }

std::string text_to_utf8(std::string_view bytes, int device_language) {
  if (text::is_valid_utf8(bytes)) return std::string(bytes);
  if (device_uses_gb_text(device_language)) return gb18030_to_utf8_lenient(bytes);
  return text::sanitize_utf8(bytes);
}

std::string text_for_device(std::string_view utf8, int device_language, bool gb_for_chinese) {
  std::string clean = text::sanitize_utf8(utf8);
  if (gb_for_chinese && device_uses_gb_text(device_language)) {
    if (auto gb = utf8_to_gb(clean, GbCharset::gb18030)) return std::move(*gb);
  }
  return clean;
}

}  // namespace zkpush::protocol
