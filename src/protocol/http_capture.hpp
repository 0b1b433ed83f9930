// Captured HTTP messages as a person pastes them (`zkpush decode`, tests, fuzz seeds).
//
// The server itself parses the socket with Boost.Beast; this parser is for text copied out of a
// manual, a packet capture or a log, and so accepts what such text really looks like:
//   * LF-only or CRLF line endings (mixed, too);
//   * a request line without HTTP version, or glued "GET/iclock/cdata?...";
//   * an absolute-form target ("GET http://host:89/file HTTP/1.1"), kept as written;
//   * a missing blank line between headers and body: the body starts at the first line that is
//     not a "Name: value" header (a PUSH body line never is one);
//   * a Content-Length that does not match: the body is every byte after the blank line, whatever
//     the header says. A shorter declared length does NOT cut the body (the manual's lengths are
//     wrong in both directions, and cutting would lose records); the mismatch is reported in
//     `notes` and `declared_length`;
//   * Transfer-Encoding: chunked bodies are decoded (size lines with or without extensions, LF or
//     CRLF, a missing final CRLF; a chunk longer than what remains is kept truncated).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/result.hpp"

namespace zkpush::protocol {

struct HttpHeader {
  std::string name;   // as written
  std::string value;  // trimmed
  bool operator==(const HttpHeader&) const = default;
};

// Header list in wire order with case-insensitive lookup (the first header of a name wins).
struct HttpHeaders {
  std::vector<HttpHeader> list;

  const HttpHeader* find(std::string_view name) const noexcept;
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  bool has(std::string_view name) const noexcept { return find(name) != nullptr; }
  void add(std::string_view name, std::string_view value);
};

// What the capture parser noticed while being lenient; for display, never an error.
struct CaptureNotes {
  std::optional<std::uint64_t> declared_length;  // Content-Length as written, when a number
  bool length_mismatch = false;                   // declared_length != body bytes
  bool chunked = false;                           // body was chunk-decoded
  bool truncated = false;                         // chunked body ended early
  bool missing_blank_line = false;                // body started right after a header line
  bool missing_version = false;                   // request line had no HTTP version
  std::vector<std::string> text;                  // one sentence per remark
};

struct HttpRequestCapture {
  std::string method;   // upper case ("GET", "POST")
  std::string target;   // as written: "/iclock/cdata?SN=1&table=rtlog" or an absolute URL
  std::string version;  // "HTTP/1.1"; empty when the line had none
  HttpHeaders headers;
  std::string body;     // bytes after the blank line (chunk-decoded)
  CaptureNotes notes;
};

struct HttpResponseCapture {
  std::string version;  // "HTTP/1.1"
  int status = 0;       // 200, 406...
  std::string reason;   // "OK"
  HttpHeaders headers;
  std::string body;
  CaptureNotes notes;
};

Result<HttpRequestCapture> parse_http_request(std::string_view text);
Result<HttpResponseCapture> parse_http_response(std::string_view text);

// Wire form (CRLF, exact Content-Length added unless the headers carry one or the body is empty
// and the method is GET). For tests, fuzz seeds and the decoder's echo.
std::string format_http_request(std::string_view method, std::string_view target,
                                const std::vector<HttpHeader>& headers, std::string_view body);
std::string format_http_response(int status, std::string_view reason,
                                 const std::vector<HttpHeader>& headers, std::string_view body);

// Decodes a chunked body ("1a\r\n...\r\n0\r\n\r\n"). Lenient as described above; an error only
// when a size line is not hexadecimal.
Result<std::string> decode_chunked(std::string_view body, bool* truncated = nullptr);

}  // namespace zkpush::protocol
