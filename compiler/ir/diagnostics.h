// Diagnostics: a user's mistake in a text file, reported as
//
//   gemm.isa:7:9: error: undeclared dimension 'q'
//       C[m, q] += A[m, k] * B[k, n]
//            ^
//   hint: the kernel declares m, n, k
//
// Internal errors (broken invariants of ours) are not diagnostics; they never reach this channel.
#pragma once

#include "ir/ir.h"

#include <string>
#include <vector>

namespace isamap::ir {

// A text and the name it is reported under ("-" for standard input).
struct SourceFile {
    std::string name;
    std::string text;
    std::string line(int number) const; // 1-based; empty past the end
};

enum class Severity { Error, Warning, Note };

struct Diagnostic {
    Severity severity = Severity::Error;
    std::string file;
    int line = 0;   // 0 when the diagnostic concerns the whole file
    int column = 0;
    int length = 1;
    std::string message;
    std::string hint;       // optional
    std::string sourceLine; // the offending line, for the caret
};

// The full clang-style text: location, message, the line with a caret under the construct, hint.
std::string format(const Diagnostic& d);
std::string format(const std::vector<Diagnostic>& ds);
bool hasErrors(const std::vector<Diagnostic>& ds);

// Collects diagnostics against one source file.
class DiagnosticSink {
public:
    explicit DiagnosticSink(const SourceFile& file) : file_(file) {}
    void error(SourceLoc loc, std::string message, std::string hint = {});
    void warning(SourceLoc loc, std::string message, std::string hint = {});
    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
    std::vector<Diagnostic> take() { return std::move(diagnostics_); }
    bool hasErrors() const { return ir::hasErrors(diagnostics_); }
    std::size_t errorCount() const;

private:
    void add(Severity s, SourceLoc loc, std::string message, std::string hint);
    const SourceFile& file_;
    std::vector<Diagnostic> diagnostics_;
};

} // namespace isamap::ir
