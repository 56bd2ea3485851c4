// Text from models and file systems (node names, op types, paths) made safe to print.
#pragma once

#include <string>
#include <string_view>

namespace edgeopt::support {

// `s` with every ASCII control character (bytes 0x00-0x1f and 0x7f: newlines, carriage returns,
// escape sequences) written as a C escape (\n, \r, \t, \\xNN), so that a name or path from a model
// or a file system keeps an error on one line and cannot drive the terminal. Other bytes
// (UTF-8 included) pass unchanged.
std::string printable(std::string_view s);

// `s` as XML/HTML text or attribute value: & < > " ' as entities, and the control characters XML
// 1.0 forbids (all below 0x20 but tab, newline, carriage return) as '?'.
std::string markupEscape(std::string_view s);

}  // namespace edgeopt::support
