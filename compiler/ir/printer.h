// The text format's printer: the canonical text of IR values. parse(print(x)) == x for every value
// the parser can produce.
#pragma once

#include "ir/ir.h"

#include <string>

namespace isamap::ir {

std::string print(const Module& m);
std::string print(const Kernel& k);
std::string print(const Graph& g);
std::string print(const Target& t);
std::string print(const Instruction& i);
std::string print(const Expr& e);
std::string print(const AffineExpr& e);
std::string print(const Access& a);
std::string print(const SizeExpr& e);
std::string print(const Statement& s);

} // namespace isamap::ir
