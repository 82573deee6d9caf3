#include "ir/parser.h"

#include "ir/lexer.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace isamap::ir {

namespace {

// Thrown after a syntax error has been reported, to unwind to the enclosing item, which skips ahead
// and goes on, so that one file yields all its errors at once.
struct Unwind {};

const std::set<std::string> kTensorAttributes = {"row_major", "col_major", "transposed", "strides", "padded",
                                                 "unit_stride", "align", "max_stride"};

const std::map<std::string, Op> kFunctions = {
    {"add", Op::Add},   {"sub", Op::Sub},   {"mul", Op::Mul},         {"div", Op::Div},
    {"max", Op::Max},   {"min", Op::Min},   {"relu", Op::Relu},       {"sigmoid", Op::Sigmoid},
    {"tanh", Op::Tanh}, {"exp", Op::Exp},   {"neg", Op::Neg},
};

std::string functionList() {
    std::string out;
    for (const auto& [name, op] : kFunctions)
        out += (out.empty() ? "" : ", ") + name;
    return out + ", and the casts f32, f16, bf16, i8, u8, i32";
}

// Generated items are reported at the library call that made them: their own positions refer to
// text the user never sees.
void relocate(SizeExpr& e, SourceLoc at) {
    e.loc = at;
    for (auto& o : e.operands)
        relocate(o, at);
}
void relocate(Access& a, SourceLoc at) {
    a.loc = at;
    for (auto& i : a.indices)
        i.loc = at;
}
void relocate(Expr& e, SourceLoc at) {
    e.loc = at;
    relocate(e.access, at);
    for (auto& a : e.args)
        relocate(a, at);
}
void relocate(TensorDecl& t, SourceLoc at) {
    t.loc = at;
    t.layout.loc = at;
    for (auto& e : t.shape)
        relocate(e, at);
    for (auto& e : t.layout.strides)
        relocate(e, at);
}
void relocate(Kernel& k, SourceLoc at) {
    k.loc = at;
    for (auto& p : k.params)
        p.loc = at;
    for (auto& d : k.dims) {
        d.loc = at;
        relocate(d.extent, at);
    }
    for (auto& t : k.tensors)
        relocate(t, at);
    for (auto& s : k.statements) {
        s.loc = at;
        relocate(s.target, at);
        relocate(s.value, at);
    }
}
void relocate(Graph& g, SourceLoc at) {
    g.loc = at;
    for (auto& p : g.params)
        p.loc = at;
    for (auto& t : g.tensors)
        relocate(t, at);
    for (auto& n : g.nodes) {
        n.loc = at;
        for (auto& a : n.args) {
            a.loc = at;
            relocate(a.value, at);
        }
        for (auto& b : n.bindings)
            b.loc = at;
    }
}

class Parser {
public:
    Parser(const SourceFile& file, const LibraryExpander& library, int depth)
        : file_(file), sink_(file), library_(library), depth_(depth), tokens_(tokenize(file.text)) {}

    ParseResult run() {
        while (!at(Token::Kind::End)) {
            try {
                parseTopLevel();
            } catch (const Unwind&) {
                skipToTopLevel();
            }
        }
        return ParseResult{std::move(module_), sink_.take()};
    }

private:
    // ---- token helpers -------------------------------------------------------------------------
    const Token& peek(std::size_t ahead = 0) const {
        return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
    }
    bool at(Token::Kind k) const { return peek().kind == k; }
    bool atText(std::string_view text) const {
        const Token& t = peek();
        return (t.kind == Token::Kind::Punct || t.kind == Token::Kind::Identifier) && t.text == text;
    }
    bool atPunct(std::string_view text) const { return peek().kind == Token::Kind::Punct && peek().text == text; }
    const Token& take() {
        const Token& t = peek();
        if (pos_ + 1 < tokens_.size())
            ++pos_;
        return t;
    }
    static SourceLoc locOf(const Token& t) { return SourceLoc{t.line, t.column, std::max(1, t.length)}; }
    SourceLoc here() const { return locOf(peek()); }

    std::string describe(const Token& t) const {
        switch (t.kind) {
        case Token::Kind::End: return "end of file";
        case Token::Kind::String: return "string \"" + t.text + "\"";
        case Token::Kind::Invalid:
            return t.text.starts_with("\"") ? "an unterminated string" : "character '" + t.text + "'";
        default: return "'" + t.text + "'";
        }
    }

    [[noreturn]] void fail(const Token& at, std::string message, std::string hint = {}) {
        sink_.error(locOf(at), std::move(message), std::move(hint));
        throw Unwind{};
    }
    [[noreturn]] void failHere(std::string expected, std::string hint = {}) {
        fail(peek(), "expected " + expected + ", found " + describe(peek()), std::move(hint));
    }

    void expectPunct(std::string_view text, std::string_view context = {}) {
        if (!atPunct(text))
            failHere("'" + std::string(text) + "'" + (context.empty() ? "" : " " + std::string(context)));
        take();
    }
    void expectWord(std::string_view word) {
        if (!(at(Token::Kind::Identifier) && peek().text == word))
            failHere("'" + std::string(word) + "'");
        take();
    }
    std::string expectName(std::string_view what) {
        if (!at(Token::Kind::Identifier))
            failHere(std::string(what));
        return take().text;
    }
    // Names of kernels, graphs and targets may contain hyphens (`nnp-like`) when written without spaces.
    std::string expectDashedName(std::string_view what) {
        std::string name = expectName(what);
        while (atPunct("-") && touches(pos_ - 1, pos_) && peek(1).kind == Token::Kind::Identifier &&
               touches(pos_, pos_ + 1)) {
            take();
            name += "-" + take().text;
        }
        return name;
    }
    // Whether token b follows token a with no space between them.
    bool touches(std::size_t a, std::size_t b) const {
        const Token& x = tokens_[std::min(a, tokens_.size() - 1)];
        const Token& y = tokens_[std::min(b, tokens_.size() - 1)];
        return x.line == y.line && x.column + x.length == y.column;
    }
    const Token& previous() const { return tokens_[pos_ == 0 ? 0 : pos_ - 1]; }
    std::int64_t expectInteger(std::string_view what, bool allowNegative = false) {
        bool negative = false;
        const Token first = peek();
        if (allowNegative && atPunct("-")) {
            take();
            negative = true;
        }
        if (!at(Token::Kind::Integer))
            failHere(std::string(what));
        const Token& t = take();
        std::int64_t v = 0;
        auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc())
            fail(first, "integer " + t.text + " is too large");
        return negative ? -v : v;
    }
    double expectNumber(std::string_view what) {
        if (!at(Token::Kind::Integer) && !at(Token::Kind::Number))
            failHere(std::string(what));
        const Token& t = take();
        double v = 0;
        std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        return v;
    }

    // After an error in an item that started at token `start`, skips to the next item: past the end of
    // the line, and past the closing braces of whatever the item had opened, but never past the brace
    // that closes the enclosing block.
    void skipItem(std::size_t start, int errorLine) {
        int open = 0;
        for (std::size_t i = start; i < pos_; ++i)
            if (tokens_[i].kind == Token::Kind::Punct)
                open += tokens_[i].text == "{" ? 1 : tokens_[i].text == "}" ? -1 : 0;
        while (!at(Token::Kind::End)) {
            if (open <= 0 && (atPunct("}") || peek().line > errorLine))
                return;
            if (atPunct("{"))
                ++open;
            else if (atPunct("}"))
                --open;
            take();
        }
    }
    void skipToTopLevel() {
        int depth = 0;
        while (!at(Token::Kind::End)) {
            if (depth == 0 && peek().column == 1 && at(Token::Kind::Identifier) &&
                (peek().text == "kernel" || peek().text == "graph" || peek().text == "target"))
                return;
            if (atPunct("{"))
                ++depth;
            if (atPunct("}"))
                depth = std::max(0, depth - 1);
            take();
        }
    }

    // Runs `item` for each line of a `{ ... }` block, recovering from an error by skipping the line.
    template <typename F>
    void parseBlock(F item) {
        expectPunct("{");
        while (!atPunct("}")) {
            if (at(Token::Kind::End))
                failHere("'}' to close the block");
            const std::size_t start = pos_;
            try {
                item();
            } catch (const Unwind&) {
                skipItem(start, peek().line);
            }
        }
        take();
    }

    // ---- top level -----------------------------------------------------------------------------
    void parseTopLevel() {
        if (at(Token::Kind::Invalid))
            fail(peek(), "unexpected " + describe(peek()));
        if (!at(Token::Kind::Identifier))
            failHere("'kernel', 'graph' or 'target'");
        const std::string& word = peek().text;
        if (word == "kernel" || word == "graph") {
            if (peek(2).kind == Token::Kind::Punct && peek(2).text == "=") {
                parseLibraryInstance();
                return;
            }
            if (word == "kernel")
                module_.kernels.push_back(parseKernel());
            else
                module_.graphs.push_back(parseGraph());
        } else if (word == "target") {
            module_.targets.push_back(parseTarget());
        } else {
            failHere("'kernel', 'graph' or 'target'");
        }
    }

    std::vector<Param> parseParams() {
        std::vector<Param> params;
        expectPunct("(");
        while (!atPunct(")")) {
            Param p;
            p.loc = here();
            p.name = expectName("a parameter name");
            expectPunct("=", "after the parameter name (every parameter has a default value)");
            p.value = expectInteger("an integer default value", true);
            params.push_back(std::move(p));
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct(")");
        return params;
    }

    // `kernel NAME = gemm(M = 64, ta = 1)`: a kernel (or graph) from the library, renamed.
    void parseLibraryInstance() {
        const bool isGraph = take().text == "graph";
        const Token nameToken = peek();
        std::string name = expectDashedName("a name");
        expectPunct("=");
        const Token callToken = peek();
        LibraryCall call;
        call.name = expectName("the name of a library generator");
        expectPunct("(");
        while (!atPunct(")")) {
            std::string key = expectName("an argument name");
            expectPunct("=");
            call.args.emplace_back(key, expectInteger("an integer value", true));
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct(")");
        if (!library_)
            fail(callToken, "library generators are not available here");
        if (depth_ > 4)
            fail(callToken, "library expansion nests too deeply");
        std::string text;
        if (!library_(call, text))
            fail(callToken, text);
        SourceFile generated{file_.name + " (" + call.name + ")", text};
        ParseResult sub = Parser(generated, library_, depth_ + 1).run();
        if (hasErrors(sub.diagnostics))
            fail(callToken, "generator '" + call.name + "' produced text that does not parse:\n" +
                                format(sub.diagnostics));
        if (isGraph) {
            if (sub.module.graphs.empty())
                fail(callToken, "generator '" + call.name + "' makes a kernel, not a graph",
                     "write 'kernel " + name + " = " + call.name + "(...)'");
            // The graph's kernels take the instance's name as a prefix, so that two instances of one
            // generator can share a file.
            Graph g = std::move(sub.module.graphs.front());
            for (auto& k : sub.module.kernels) {
                const std::string renamed = name + "_" + k.name;
                for (auto& n : g.nodes)
                    if (n.kernel == k.name)
                        n.kernel = renamed;
                k.name = renamed;
                relocate(k, locOf(callToken));
                module_.kernels.push_back(std::move(k));
            }
            g.name = name;
            relocate(g, locOf(callToken));
            g.loc = locOf(nameToken);
            module_.graphs.push_back(std::move(g));
        } else {
            if (sub.module.kernels.size() != 1 || !sub.module.graphs.empty())
                fail(callToken, "generator '" + call.name + "' makes a graph, not a single kernel",
                     "write 'graph " + name + " = " + call.name + "(...)'");
            Kernel k = std::move(sub.module.kernels.front());
            k.name = name;
            relocate(k, locOf(callToken));
            k.loc = locOf(nameToken);
            module_.kernels.push_back(std::move(k));
        }
    }

    // ---- kernels -------------------------------------------------------------------------------
    Kernel parseKernel() {
        expectWord("kernel");
        Kernel k;
        k.loc = here();
        k.name = expectDashedName("a kernel name");
        k.params = parseParams();
        parseBlock([&] { parseKernelItem(k, nullptr); });
        return k;
    }

    // One line of a kernel or instruction body. `lowerings` is non-null inside an instruction.
    void parseKernelItem(Kernel& k, std::vector<Lowering>* lowerings) {
        const Token& t = peek();
        if (t.kind == Token::Kind::Identifier) {
            if (t.text == "dim" || t.text == "reduce") {
                parseDims(k);
                return;
            }
            if (t.text == "in" || t.text == "out" || t.text == "inout" || t.text == "tmp") {
                k.tensors.push_back(parseTensorDecl());
                return;
            }
            if (t.text == "lower") {
                if (!lowerings)
                    fail(t, "'lower' belongs in an instruction, not in a kernel");
                lowerings->push_back(parseLowering());
                return;
            }
            if (peek(1).kind == Token::Kind::Punct && peek(1).text == "[") {
                k.statements.push_back(parseStatement());
                return;
            }
        }
        failHere("a declaration (dim, reduce, in, out, inout, tmp) or a statement such as C[i, j] += A[i, k] * B[k, j]");
    }

    void parseDims(Kernel& k) {
        const bool reduction = take().text == "reduce";
        while (true) {
            DimDecl d;
            d.loc = here();
            d.name = expectName("a dimension name");
            d.reduction = reduction;
            expectPunct("<", "between the dimension and its extent (as in 'dim i < N')");
            d.extent = parseSize();
            k.dims.push_back(std::move(d));
            if (!atPunct(","))
                break;
            take();
        }
    }

    TensorDecl parseTensorDecl() {
        TensorDecl t;
        const std::string role = take().text;
        t.role = role == "in" ? TensorRole::In : role == "out" ? TensorRole::Out : role == "inout" ? TensorRole::InOut
                                                                                                   : TensorRole::Tmp;
        t.loc = here();
        t.name = expectName("a tensor name");
        expectPunct(":", "between the tensor name and its type (as in 'in A : f32[M, K]')");
        const Token typeToken = peek();
        std::string typeText = expectName("an element type");
        auto type = typeFromName(typeText);
        if (!type)
            fail(typeToken, "unknown element type '" + typeText + "'", "element types are f32, f16, bf16, i8, u8, i32");
        t.type = *type;
        expectPunct("[", "to open the tensor's shape");
        while (!atPunct("]")) {
            t.shape.push_back(parseSize());
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct("]", "to close the tensor's shape");
        const int line = typeToken.line;
        while (peek().line == line && !at(Token::Kind::End) && !atPunct("}"))
            parseTensorAttribute(t);
        return t;
    }

    void parseTensorAttribute(TensorDecl& t) {
        if (atPunct("@")) {
            take();
            t.memory = expectName("a memory name after '@'");
            return;
        }
        const Token& word = peek();
        if (word.kind != Token::Kind::Identifier || !kTensorAttributes.count(word.text))
            failHere("a tensor attribute",
                     "attributes are row_major, col_major, transposed(...), strides(...), padded(...), @memory, "
                     "unit_stride, align(N), max_stride(N)");
        const std::string name = take().text;
        if (name == "row_major" || name == "col_major") {
            t.layout = Layout{name == "row_major" ? Layout::Kind::RowMajor : Layout::Kind::ColMajor, {}, {}, locOf(word)};
        } else if (name == "transposed") {
            t.layout = Layout{Layout::Kind::Transposed, {}, {}, locOf(word)};
            for (auto v : parseIntegerList())
                t.layout.permutation.push_back(static_cast<int>(v));
        } else if (name == "strides") {
            t.layout = Layout{Layout::Kind::Strides, {}, {}, locOf(word)};
            expectPunct("(");
            while (!atPunct(")")) {
                t.layout.strides.push_back(parseSize());
                if (!atPunct(","))
                    break;
                take();
            }
            expectPunct(")");
        } else if (name == "padded") {
            t.padding = parseIntegerList();
        } else if (name == "unit_stride") {
            t.unitStride = true;
        } else if (name == "align") {
            expectPunct("(");
            t.alignBytes = expectInteger("an alignment in bytes");
            expectPunct(")");
        } else if (name == "max_stride") {
            expectPunct("(");
            t.maxStride = expectInteger("a stride in elements");
            expectPunct(")");
        }
    }

    std::vector<std::int64_t> parseIntegerList() {
        std::vector<std::int64_t> out;
        expectPunct("(");
        while (!atPunct(")")) {
            out.push_back(expectInteger("an integer", true));
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct(")");
        return out;
    }

    // size := product (('+'|'-') product)*
    SizeExpr parseSize() {
        SizeExpr lhs = parseSizeProduct();
        while (atPunct("+") || atPunct("-")) {
            const Token& op = take();
            SizeExpr e = SizeExpr::binary(op.text == "+" ? SizeExpr::Kind::Add : SizeExpr::Kind::Sub, std::move(lhs),
                                          parseSizeProduct());
            e.loc = locOf(op);
            lhs = std::move(e);
        }
        return lhs;
    }
    SizeExpr parseSizeProduct() {
        SizeExpr lhs = parseSizeAtom();
        while (atPunct("*") || atPunct("/")) {
            const Token& op = take();
            SizeExpr e = SizeExpr::binary(op.text == "*" ? SizeExpr::Kind::Mul : SizeExpr::Kind::Div, std::move(lhs),
                                          parseSizeAtom());
            e.loc = locOf(op);
            lhs = std::move(e);
        }
        return lhs;
    }
    SizeExpr parseSizeAtom() {
        const SourceLoc loc = here();
        if (at(Token::Kind::Integer)) {
            SizeExpr e = SizeExpr::constant(expectInteger("an integer"));
            e.loc = loc;
            return e;
        }
        if (at(Token::Kind::Identifier)) {
            SizeExpr e = SizeExpr::named(take().text);
            e.loc = loc;
            return e;
        }
        if (atPunct("(")) {
            take();
            SizeExpr e = parseSize();
            expectPunct(")");
            return e;
        }
        failHere("a size: an integer, a parameter or a parenthesised expression");
    }

    // ---- statements and expressions ------------------------------------------------------------
    Statement parseStatement() {
        Statement s;
        s.loc = here();
        s.target = parseAccess();
        if (atPunct("=")) {
            s.update = Update::Assign;
        } else if (atPunct("+=")) {
            s.update = Update::Sum;
        } else if (atPunct("max=")) {
            s.update = Update::Max;
        } else {
            failHere("'=', '+=' or 'max=' after the statement's target");
        }
        take();
        s.value = parseExpr();
        return s;
    }

    Access parseAccess() {
        Access a;
        a.loc = here();
        a.tensor = expectName("a tensor name");
        expectPunct("[");
        while (!atPunct("]")) {
            a.indices.push_back(parseAffine());
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct("]", "to close the index list");
        a.loc.length = previous().line == a.loc.line ? std::max(1, previous().column + 1 - a.loc.column) : 1;
        return a;
    }

    // affine := ['-'] term (('+'|'-') term)*   with term := INT | NAME | INT '*' NAME | NAME '*' INT
    AffineExpr parseAffine() {
        AffineExpr e;
        e.loc = here();
        std::int64_t sign = 1;
        if (atPunct("-")) {
            take();
            sign = -1;
        }
        addAffineTerm(e, sign);
        while (atPunct("+") || atPunct("-")) {
            sign = take().text == "+" ? 1 : -1;
            addAffineTerm(e, sign);
        }
        // Canonical form: one term per dimension, no zero coefficients.
        std::vector<AffineTerm> merged;
        for (const auto& t : e.terms) {
            auto it = std::find_if(merged.begin(), merged.end(), [&](const AffineTerm& m) { return m.dim == t.dim; });
            if (it == merged.end())
                merged.push_back(t);
            else
                it->coeff += t.coeff;
        }
        std::erase_if(merged, [](const AffineTerm& t) { return t.coeff == 0; });
        e.terms = std::move(merged);
        return e;
    }

    void addAffineTerm(AffineExpr& e, std::int64_t sign) {
        if (at(Token::Kind::Integer)) {
            std::int64_t v = expectInteger("an integer");
            if (atPunct("*")) {
                take();
                e.terms.push_back({expectName("a dimension after '*'"), sign * v});
            } else {
                e.constant += sign * v;
            }
            return;
        }
        if (at(Token::Kind::Identifier)) {
            std::string dim = take().text;
            std::int64_t coeff = 1;
            if (atPunct("*")) {
                take();
                coeff = expectInteger("an integer coefficient",
                                      false); // `h * 2`
            }
            e.terms.push_back({std::move(dim), sign * coeff});
            return;
        }
        if (atPunct("(") || at(Token::Kind::Number))
            failHere("an affine index (dimensions with integer coefficients, as in 2*h + r - 1)");
        failHere("an index expression");
    }

    // expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ; unary := '-' unary | primary
    Expr parseExpr() {
        Expr lhs = parseTerm();
        while (atPunct("+") || atPunct("-")) {
            const Token& op = take();
            Expr e = Expr::call(op.text == "+" ? Op::Add : Op::Sub, {std::move(lhs), parseTerm()});
            e.loc = locOf(op);
            lhs = std::move(e);
        }
        return lhs;
    }
    Expr parseTerm() {
        Expr lhs = parseUnary();
        while (atPunct("*") || atPunct("/")) {
            const Token& op = take();
            Expr e = Expr::call(op.text == "*" ? Op::Mul : Op::Div, {std::move(lhs), parseUnary()});
            e.loc = locOf(op);
            lhs = std::move(e);
        }
        return lhs;
    }
    Expr parseUnary() {
        if (atPunct("-")) {
            const Token& minus = take();
            // A minus directly before a number is part of the literal.
            if (at(Token::Kind::Integer) || at(Token::Kind::Number)) {
                Expr e = Expr::ofConstant(-expectNumber("a number"));
                e.loc = locOf(minus);
                return e;
            }
            Expr e = Expr::call(Op::Neg, {parseUnary()});
            e.loc = locOf(minus);
            return e;
        }
        return parsePrimary();
    }
    Expr parsePrimary() {
        const Token& t = peek();
        if (t.kind == Token::Kind::Integer || t.kind == Token::Kind::Number) {
            Expr e = Expr::ofConstant(expectNumber("a number"));
            e.loc = locOf(t);
            return e;
        }
        if (atPunct("(")) {
            take();
            Expr e = parseExpr();
            expectPunct(")");
            return e;
        }
        if (t.kind == Token::Kind::Identifier) {
            const Token& after = peek(1);
            if (after.kind == Token::Kind::Punct && after.text == "[")
                return Expr::ofAccess(parseAccess());
            if (after.kind == Token::Kind::Punct && after.text == "(")
                return parseCall();
            fail(t, "'" + t.text + "' is neither a tensor access nor a function call",
                 "write a tensor access with its indices, as in " + t.text + "[i], or call a function: " +
                     functionList());
        }
        failHere("an expression");
    }
    Expr parseCall() {
        const Token nameToken = take();
        take(); // (
        std::vector<Expr> args;
        while (!atPunct(")")) {
            args.push_back(parseExpr());
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct(")", "to close the argument list");
        Expr e;
        if (auto type = typeFromName(nameToken.text)) {
            if (args.size() != 1)
                fail(nameToken, "the cast " + nameToken.text + "(...) takes one argument, not " +
                                    std::to_string(args.size()));
            e = Expr::cast(*type, std::move(args.front()));
        } else {
            auto it = kFunctions.find(nameToken.text);
            if (it == kFunctions.end())
                fail(nameToken, "unknown function '" + nameToken.text + "'", "functions are " + functionList());
            const int arity = opArity(it->second);
            if (static_cast<int>(args.size()) != arity)
                fail(nameToken, "'" + nameToken.text + "' takes " + std::to_string(arity) + " argument" +
                                    (arity == 1 ? "" : "s") + ", not " + std::to_string(args.size()));
            e = Expr::call(it->second, std::move(args));
        }
        e.loc = locOf(nameToken);
        return e;
    }

    // ---- graphs --------------------------------------------------------------------------------
    Graph parseGraph() {
        expectWord("graph");
        Graph g;
        g.loc = here();
        g.name = expectDashedName("a graph name");
        g.params = parseParams();
        parseBlock([&] {
            const Token& t = peek();
            if (t.kind == Token::Kind::Identifier && (t.text == "in" || t.text == "out" || t.text == "tmp" ||
                                                      t.text == "inout")) {
                g.tensors.push_back(parseTensorDecl());
            } else if (t.kind == Token::Kind::Identifier && t.text == "node") {
                g.nodes.push_back(parseNode());
            } else {
                failHere("a tensor (in, out, tmp) or a node (node NAME : KERNEL(...) { ... })");
            }
        });
        return g;
    }

    Node parseNode() {
        expectWord("node");
        Node n;
        n.loc = here();
        n.name = expectName("a node name");
        expectPunct(":", "between the node name and its kernel");
        n.kernel = expectDashedName("a kernel name");
        expectPunct("(");
        while (!atPunct(")")) {
            NodeArg a;
            a.loc = here();
            a.param = expectName("a kernel parameter");
            expectPunct("=");
            a.value = parseSize();
            n.args.push_back(std::move(a));
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct(")");
        expectPunct("{", "to open the node's tensor bindings");
        while (!atPunct("}")) {
            Binding b;
            b.loc = here();
            b.kernelTensor = expectName("the kernel's tensor");
            expectPunct("=");
            b.graphTensor = expectName("a graph tensor");
            if (atPunct("[")) {
                take();
                while (!atPunct("]")) {
                    b.fixedIndices.push_back(expectInteger("a constant index"));
                    if (!atPunct(","))
                        break;
                    take();
                }
                expectPunct("]");
            }
            n.bindings.push_back(std::move(b));
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct("}", "to close the node's bindings");
        return n;
    }

    // ---- targets -------------------------------------------------------------------------------
    Target parseTarget() {
        expectWord("target");
        Target t;
        t.loc = here();
        t.name = expectDashedName("a target name");
        parseBlock([&] { parseTargetItem(t); });
        return t;
    }

    void parseTargetItem(Target& t) {
        const Token& word = peek();
        if (word.kind != Token::Kind::Identifier)
            failHere("'features', 'memory', 'unit', 'instruction' or 'move'");
        if (word.text == "features") {
            take();
            expectPunct("=");
            while (true) {
                t.features.push_back(expectName("a CPU feature name"));
                if (!atPunct(","))
                    break;
                take();
            }
        } else if (word.text == "memory") {
            take();
            t.memories.push_back(parseMemory());
        } else if (word.text == "unit") {
            take();
            t.units.push_back(parseUnit());
        } else if (word.text == "instruction" || word.text == "move") {
            t.instructions.push_back(parseInstruction());
        } else {
            failHere("'features', 'memory', 'unit', 'instruction' or 'move'");
        }
    }

    // Reads `NUMBER UNIT` for a quantity ("32 MiB", "8 TB/s", "1.1 GHz", "20 ns").
    double parseQuantity(Quantity q) {
        const Token numberToken = peek();
        double v = expectNumber(std::string(quantityName(q)));
        if (!at(Token::Kind::Identifier) || peek().line != numberToken.line)
            failHere("a unit after " + numberToken.text, "units here are " + unitList(q));
        const Token unitToken = peek();
        std::string unit = take().text;
        if (atPunct("/") && peek(1).kind == Token::Kind::Identifier && peek(1).text == "s") {
            take();
            take();
            unit += "/s";
        }
        auto scale = unitScale(q, unit);
        if (!scale)
            fail(unitToken, "'" + unit + "' is not a unit of " + std::string(quantityName(q)),
                 "units here are " + unitList(q));
        return v * *scale;
    }

    // `{ key = value, ... }` where `field` parses the value of a key it knows and returns false otherwise.
    template <typename F>
    void parseFields(std::string_view what, std::string_view known, F field) {
        expectPunct("{");
        while (!atPunct("}")) {
            const Token key = peek();
            std::string name = expectName("a field name");
            expectPunct("=");
            if (!field(name))
                fail(key, "unknown field '" + name + "' in " + std::string(what), "fields are " + std::string(known));
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct("}");
    }

    Memory parseMemory() {
        Memory m;
        m.loc = here();
        m.name = expectName("a memory name");
        parseFields("a memory", "bytes, bandwidth, latency, parent, registers, streams, streams_bandwidth", [&](const std::string& f) {
            if (f == "bytes")
                m.bytes = static_cast<std::uint64_t>(parseQuantity(Quantity::Bytes));
            else if (f == "bandwidth")
                m.bandwidth = parseQuantity(Quantity::Bandwidth);
            else if (f == "latency")
                m.latency = parseQuantity(Quantity::Time);
            else if (f == "parent")
                m.parent = expectName("the name of the parent memory");
            else if (f == "registers")
                m.registers = expectInteger("a register count");
            else if (f == "streams")
                m.streams = expectInteger("a count of sequential streams");
            else if (f == "streams_bandwidth")
                m.streamsBandwidth = parseQuantity(Quantity::Bandwidth);
            else
                return false;
            return true;
        });
        return m;
    }

    Unit parseUnit() {
        Unit u;
        u.loc = here();
        u.name = expectName("a unit name");
        parseFields("a unit", "clock, count", [&](const std::string& f) {
            if (f == "clock")
                u.clock = parseQuantity(Quantity::Frequency);
            else if (f == "count")
                u.count = expectInteger("a unit count");
            else
                return false;
            return true;
        });
        return u;
    }

    Instruction parseInstruction() {
        Instruction ins;
        ins.kind = take().text == "move" ? Instruction::Kind::Move : Instruction::Kind::Compute;
        ins.loc = here();
        ins.name = expectName("an instruction name");
        ins.body.name = ins.name;
        ins.body.loc = ins.loc;
        expectWord("on");
        ins.unit = expectName("the unit that executes the instruction");
        expectPunct("(", "to open the instruction's throughput and latency");
        while (!atPunct(")")) {
            const Token key = peek();
            std::string name = expectName("'throughput' or 'latency'");
            expectPunct("=");
            if (name == "throughput")
                ins.throughput = expectNumber("a throughput in instructions per cycle");
            else if (name == "latency")
                ins.latency = expectInteger("a latency in cycles");
            else
                fail(key, "unknown instruction property '" + name + "'", "properties are throughput, latency");
            if (!atPunct(","))
                break;
            take();
        }
        expectPunct(")");
        parseBlock([&] { parseKernelItem(ins.body, &ins.lowerings); });
        return ins;
    }

    Lowering parseLowering() {
        const Token lowerToken = take();
        Lowering l;
        l.loc = locOf(lowerToken);
        l.backend = expectName("a backend ('llvm' or 'sim')");
        while (peek().line == lowerToken.line && at(Token::Kind::String))
            l.steps.push_back(take().text);
        if (at(Token::Kind::Invalid) && peek().text.starts_with("\""))
            fail(peek(), "unterminated string", "close it with \" on the same line");
        if (l.steps.empty())
            failHere("one or more quoted lowering steps, as in lower sim \"mma32\"");
        return l;
    }

    const SourceFile& file_;
    DiagnosticSink sink_;
    const LibraryExpander& library_;
    int depth_;
    std::vector<Token> tokens_;
    std::size_t pos_ = 0;
    Module module_;
};

} // namespace

ParseResult parse(const SourceFile& file, const LibraryExpander& library) { return Parser(file, library, 0).run(); }

} // namespace isamap::ir
