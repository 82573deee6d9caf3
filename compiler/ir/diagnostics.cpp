#include "ir/diagnostics.h"

#include <algorithm>

namespace isamap::ir {

std::string SourceFile::line(int number) const {
    if (number < 1)
        return {};
    std::size_t start = 0;
    for (int l = 1; l < number; ++l) {
        start = text.find('\n', start);
        if (start == std::string::npos)
            return {};
        ++start;
    }
    std::size_t end = text.find('\n', start);
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string format(const Diagnostic& d) {
    std::string out = d.file;
    if (d.line > 0)
        out += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
    switch (d.severity) {
    case Severity::Error: out += ": error: "; break;
    case Severity::Warning: out += ": warning: "; break;
    case Severity::Note: out += ": note: "; break;
    }
    out += d.message + "\n";
    if (d.line > 0 && !d.sourceLine.empty()) {
        out += "    " + d.sourceLine + "\n    ";
        // Keep tabs so the caret lines up under tab-indented text.
        for (int i = 0; i + 1 < d.column && i < static_cast<int>(d.sourceLine.size()); ++i)
            out += d.sourceLine[i] == '\t' ? '\t' : ' ';
        out += '^';
        int tildes = std::max(0, d.length - 1);
        int room = static_cast<int>(d.sourceLine.size()) - d.column;
        out += std::string(static_cast<std::size_t>(std::max(0, std::min(tildes, room))), '~');
        out += "\n";
    }
    if (!d.hint.empty())
        out += "hint: " + d.hint + "\n";
    return out;
}

std::string format(const std::vector<Diagnostic>& ds) {
    std::string out;
    for (const auto& d : ds)
        out += format(d);
    return out;
}

bool hasErrors(const std::vector<Diagnostic>& ds) {
    return std::any_of(ds.begin(), ds.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

void DiagnosticSink::error(SourceLoc loc, std::string message, std::string hint) {
    add(Severity::Error, loc, std::move(message), std::move(hint));
}

void DiagnosticSink::warning(SourceLoc loc, std::string message, std::string hint) {
    add(Severity::Warning, loc, std::move(message), std::move(hint));
}

std::size_t DiagnosticSink::errorCount() const {
    return static_cast<std::size_t>(std::count_if(diagnostics_.begin(), diagnostics_.end(),
                                                  [](const Diagnostic& d) { return d.severity == Severity::Error; }));
}

void DiagnosticSink::add(Severity s, SourceLoc loc, std::string message, std::string hint) {
    Diagnostic d;
    d.severity = s;
    d.file = file_.name;
    d.line = loc.line;
    d.column = loc.column;
    d.length = loc.length;
    d.message = std::move(message);
    d.hint = std::move(hint);
    d.sourceLine = file_.line(loc.line);
    diagnostics_.push_back(std::move(d));
}

} // namespace isamap::ir
