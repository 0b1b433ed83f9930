#include "protocol/http_capture.hpp"

#include <string>

#include "protocol/text.hpp"

namespace zkpush::protocol {

using text::hex_digit;

// ---- headers ------------------------------------------------------------------------------------

const HttpHeader* HttpHeaders::find(std::string_view name) const noexcept {
  for (const auto& h : list)
    if (text::iequals(h.name, name)) return &h;
  return nullptr;
}

std::optional<std::string_view> HttpHeaders::get(std::string_view name) const noexcept {
  if (const HttpHeader* h = find(name)) return std::string_view(h->value);
  return std::nullopt;
}

void HttpHeaders::add(std::string_view name, std::string_view value) {
  list.push_back(HttpHeader{std::string(name), std::string(value)});
}

namespace {

// One line of the capture: [begin, end) without the line break; `next` is the first byte after it.
struct Line {
  std::string_view text;
  std::size_t next = 0;
};

Line line_at(std::string_view s, std::size_t pos) {
  std::size_t nl = s.find('\n', pos);
  std::size_t end = nl == std::string_view::npos ? s.size() : nl;
  std::string_view t = s.substr(pos, end - pos);
  if (!t.empty() && t.back() == '\r') t.remove_suffix(1);
  return Line{t, nl == std::string_view::npos ? s.size() : nl + 1};
}

bool is_tchar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// "Name: value" (RFC 9110 token before the colon). A getrequest command line "C:123:..." is not.
bool looks_like_header(std::string_view line) {
  std::size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  for (std::size_t i = 0; i < colon; ++i)
    if (!is_tchar(line[i])) return false;
  if (colon == 1 && (line[0] == 'C' || line[0] == 'c') && colon + 1 < line.size() && line[colon + 1] >= '0' &&
      line[colon + 1] <= '9')
    return false;
  return true;
}

std::size_t skip_leading_blank(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size() && (s[pos] == '\r' || s[pos] == '\n' || s[pos] == ' ' || s[pos] == '\t')) ++pos;
  return pos;
}

// Reads the header block starting at `pos`; returns the offset where the body begins.
std::size_t read_headers(std::string_view s, std::size_t pos, HttpHeaders& headers, CaptureNotes& notes) {
  while (pos < s.size()) {
    Line line = line_at(s, pos);
    if (line.text.empty()) return line.next;  // the blank line
    if ((line.text.front() == ' ' || line.text.front() == '\t') && !headers.list.empty() &&
        !text::trim(line.text).empty()) {
      // Folded header value (obsolete, but pasted captures have it).
      headers.list.back().value += ' ';
      headers.list.back().value += std::string(text::trim(line.text));
      pos = line.next;
      continue;
    }
    if (!looks_like_header(line.text)) {
      notes.missing_blank_line = true;
      notes.text.push_back("no blank line before the body");
      return pos;
    }
    std::size_t colon = line.text.find(':');
    headers.add(line.text.substr(0, colon), text::trim(line.text.substr(colon + 1)));
    pos = line.next;
  }
  return s.size();
}

// Content-Length / Transfer-Encoding handling shared by requests and responses.
Status finish_body(const HttpHeaders& headers, std::string_view raw, std::string& body, CaptureNotes& notes) {
  auto te = headers.get("Transfer-Encoding");
  if (te && text::to_lower(*te).find("chunked") != std::string::npos) {
    notes.chunked = true;
    bool truncated = false;
    auto decoded = decode_chunked(raw, &truncated);
    if (!decoded) return decoded.error();
    body = std::move(decoded.value());
    notes.truncated = truncated;
    if (truncated) notes.text.push_back("chunked body ends before its last chunk");
    return Ok{};
  }
  body = std::string(raw);
  if (auto cl = headers.get("Content-Length")) {
    if (auto n = text::parse_uint(*cl)) {
      notes.declared_length = *n;
      if (*n != body.size()) {
        notes.length_mismatch = true;
        notes.text.push_back("Content-Length says " + std::to_string(*n) + " but " + std::to_string(body.size()) +
                             " bytes follow the headers; all of them are kept");
      }
    } else {
      notes.text.push_back("Content-Length is not a number");
    }
  }
  return Ok{};
}

bool is_glued_version(std::string_view s) {
  return s.size() >= 8 && text::istarts_with(s.substr(s.size() - 8), "HTTP/") && s[s.size() - 2] == '.';
}

}  // namespace

Result<std::string> decode_chunked(std::string_view body, bool* truncated) {
  std::string out;
  std::size_t pos = 0;
  int chunk = 0;
  if (truncated) *truncated = false;
  while (pos < body.size()) {
    Line line = line_at(body, pos);
    std::string_view size_text = text::trim(line.text);
    std::size_t semi = size_text.find(';');
    if (semi != std::string_view::npos) size_text = text::trim(size_text.substr(0, semi));
    ++chunk;
    if (size_text.empty()) {  // a stray blank line between chunks
      pos = line.next;
      continue;
    }
    std::uint64_t size = 0;
    if (size_text.size() > 15)
      return make_error(Errc::too_large, "chunk size too large", "chunk " + std::to_string(chunk));
    for (char c : size_text) {
      int d = hex_digit(c);
      if (d < 0)
        return make_error(Errc::malformed, "chunk size is not hexadecimal: '" + std::string(size_text) + "'",
                          "chunk " + std::to_string(chunk));
      size = size * 16 + static_cast<std::uint64_t>(d);
    }
    pos = line.next;
    if (size == 0) return out;  // trailers, if any, are ignored
    std::size_t available = body.size() - pos;
    if (size > available) {
      out.append(body.substr(pos));
      if (truncated) *truncated = true;
      return out;
    }
    out.append(body.substr(pos, static_cast<std::size_t>(size)));
    pos += static_cast<std::size_t>(size);
    if (pos < body.size() && body[pos] == '\r') ++pos;
    if (pos < body.size() && body[pos] == '\n') ++pos;
  }
  // No terminating 0-size chunk: the capture stopped early.
  if (truncated && chunk > 0) *truncated = true;
  return out;
}

Result<HttpRequestCapture> parse_http_request(std::string_view s) {
  HttpRequestCapture req;
  std::size_t pos = skip_leading_blank(s);
  if (pos >= s.size()) return make_error(Errc::incomplete, "empty request", "line 1");
  Line first = line_at(s, pos);
  std::string_view line = text::trim(first.text);
  pos = first.next;

  std::size_t m = 0;
  while (m < line.size() && ((line[m] >= 'A' && line[m] <= 'Z') || (line[m] >= 'a' && line[m] <= 'z'))) ++m;
  if (m == 0) return make_error(Errc::malformed, "request line does not start with a method", "line 1");
  req.method = text::to_upper(line.substr(0, m));
  std::string_view rest = text::trim(line.substr(m));
  if (!rest.empty() && !(rest.front() == '/' || rest.front() == 'h' || rest.front() == 'H' || rest.front() == '*' ||
                         line[m] == ' ' || line[m] == '\t'))
    return make_error(Errc::malformed, "request line has no target after the method", "line 1");
  if (rest.empty()) {
    // "POST" alone on its line, the target on the next one (seen in the manual's layout).
    Line next = line_at(s, pos);
    if (!next.text.empty() && next.text.front() == '/') {
      rest = text::trim(next.text);
      pos = next.next;
    } else {
      return make_error(Errc::incomplete, "request line has no target", "line 1");
    }
  }
  std::size_t sp = rest.find_last_of(" \t");
  if (sp != std::string_view::npos && text::istarts_with(text::trim(rest.substr(sp + 1)), "HTTP/")) {
    req.version = std::string(text::trim(rest.substr(sp + 1)));
    req.target = std::string(text::trim(rest.substr(0, sp)));
  } else if (is_glued_version(rest) && rest.size() > 8) {
    // ".../iclock/HTTP/1.1": the space before the version was lost.
    req.version = std::string(rest.substr(rest.size() - 8));
    req.target = std::string(rest.substr(0, rest.size() - 8));
  } else {
    req.target = std::string(rest);
    req.notes.missing_version = true;
    req.notes.text.push_back("request line has no HTTP version");
  }
  if (req.target.empty()) return make_error(Errc::incomplete, "request line has no target", "line 1");

  std::size_t body_start = read_headers(s, pos, req.headers, req.notes);
  auto st = finish_body(req.headers, s.substr(body_start), req.body, req.notes);
  if (!st) return st.error();
  return req;
}

Result<HttpResponseCapture> parse_http_response(std::string_view s) {
  HttpResponseCapture res;
  std::size_t pos = skip_leading_blank(s);
  if (pos >= s.size()) return make_error(Errc::incomplete, "empty response", "line 1");
  Line first = line_at(s, pos);
  std::string_view line = text::trim(first.text);
  if (!text::istarts_with(line, "HTTP/"))
    return make_error(Errc::malformed, "response does not start with a status line (HTTP/1.1 200 OK)", "line 1");
  std::size_t sp = line.find_first_of(" \t");
  if (sp == std::string_view::npos) return make_error(Errc::incomplete, "status line has no status code", "line 1");
  res.version = std::string(line.substr(0, sp));
  std::string_view rest = text::trim(line.substr(sp));
  std::size_t code_end = rest.find_first_of(" \t");
  std::string_view code = rest.substr(0, code_end);
  auto status = text::parse_int(code);
  if (!status || *status < 100 || *status > 999 || code.size() != 3)
    return make_error(Errc::bad_value, "status code is not a 3-digit number: '" + std::string(code) + "'", "line 1");
  res.status = static_cast<int>(*status);
  if (code_end != std::string_view::npos) res.reason = std::string(text::trim(rest.substr(code_end)));

  std::size_t body_start = read_headers(s, first.next, res.headers, res.notes);
  auto st = finish_body(res.headers, s.substr(body_start), res.body, res.notes);
  if (!st) return st.error();
  return res;
}

namespace {
void append_headers(std::string& out, const std::vector<HttpHeader>& headers, std::string_view body, bool want_length) {
  bool has_length = false;
  for (const auto& h : headers) {
    if (text::iequals(h.name, "Content-Length") || text::iequals(h.name, "Transfer-Encoding")) has_length = true;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (!has_length && (want_length || !body.empty())) {
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out.append(body);
}
}  // namespace

std::string format_http_request(std::string_view method, std::string_view target,
                                const std::vector<HttpHeader>& headers, std::string_view body) {
  std::string out;
  out.append(method);
  out += ' ';
  out.append(target);
  out += " HTTP/1.1\r\n";
  append_headers(out, headers, body, text::iequals(method, "POST"));
  return out;
}

std::string format_http_response(int status, std::string_view reason, const std::vector<HttpHeader>& headers,
                                 std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status);
  if (!reason.empty()) {
    out += ' ';
    out.append(reason);
  }
  out += "\r\n";
  append_headers(out, headers, body, true);
  return out;
}

}  // namespace zkpush::protocol
