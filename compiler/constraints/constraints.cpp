#include "constraints/constraints.h"

#include "ir/lexer.h"
#include "ir/types.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace isamap::constraints {

using ir::Token;
using schedule::Schedule;
using schedule::Space;
using Kind = Constraint::Kind;

namespace {

// ---- parsing -----------------------------------------------------------------------------------

// Thrown after a line's error has been reported, to go on with the next line, so that one file
// yields all its errors at once.
struct Unwind {};

const char* kForms = "pin, tile, order, keep, not, cap or parallel";

// One line of constraint text: its tokens, without the comment.
class LineParser {
public:
    LineParser(const ir::SourceFile& file, ir::DiagnosticSink& sink, std::vector<Token> tokens)
        : sink_(sink), tokens_(std::move(tokens)), sourceLine_(file.line(tokens_.front().line)) {}

    Constraint run() {
        Constraint c;
        const Token& first = tokens_.front();
        const Token& last = tokens_.back();
        const std::size_t begin = static_cast<std::size_t>(first.column - 1);
        c.text = sourceLine_.substr(begin, static_cast<std::size_t>(last.column - 1 + last.length) - begin);
        c.loc = ir::SourceLoc{first.line, first.column, std::max(1, static_cast<int>(c.text.size()))};
        reportUnterminatedString();
        parseConstraint(c);
        if (pos_ < tokens_.size())
            fail(peek(), "unexpected " + describe(peek()) + " after the constraint", "write one constraint per line");
        return c;
    }

private:
    void parseConstraint(Constraint& c) {
        if (!atKind(Token::Kind::Identifier))
            failHere("a constraint (" + std::string(kForms) + ")");
        const Token& head = peek();
        if (head.text == "pin")
            parsePin(c);
        else if (head.text == "tile")
            parseTile(c);
        else if (head.text == "order")
            parseOrder(c);
        else if (head.text == "keep")
            parseKeep(c, false);
        else if (head.text == "parallel")
            parseParallel(c, false);
        else if (head.text == "cap")
            parseCap(c);
        else if (head.text == "not")
            parseNegated(c);
        else
            fail(head, "unknown constraint '" + head.text + "'", "a constraint starts with " + std::string(kForms));
    }

    // pin instruction NAME | pin candidate "KEY"
    void parsePin(Constraint& c) {
        take();
        if (atWord("instruction")) {
            take();
            c.kind = Kind::PinInstruction;
            c.name = expectName("an instruction name after 'instruction'");
        } else if (atWord("candidate")) {
            take();
            if (!atKind(Token::Kind::String))
                failHere("the candidate's key in quotes", "as in: pin candidate \"mma32: i=n, j=m, k=k; c=C, a=B, b=A\"");
            c.kind = Kind::PinCandidate;
            c.name = take().text;
        } else {
            failHere("'instruction' or 'candidate' after 'pin'", "as in: pin instruction mma32");
        }
    }

    // tile LOOP at LEVEL (= | <= | >= | !=) SIZE
    void parseTile(Constraint& c) {
        take();
        c.loop = expectLoop("a loop name after 'tile'");
        expectWord("at", "after the loop name", "as in: tile " + c.loop + " at l1 = 4");
        c.level = expectName("a memory name after 'at'");
        switch (expectComparison()) {
        case Comparison::Equal: c.kind = Kind::TileEquals; break;
        case Comparison::AtMost: c.kind = Kind::TileAtMost; break;
        case Comparison::AtLeast: c.kind = Kind::TileAtLeast; break;
        case Comparison::NotEqual: c.kind = Kind::TileNot; break;
        }
        const Token& size = peek();
        c.value = expectInteger("a tile size (a whole number of the loop's units)");
        if (c.value < 1)
            fail(size, "a tile size is at least 1");
    }

    // order at LEVEL: LOOP innermost | LOOP inside LOOP | LOOP outside LOOP | LOOP, LOOP, ...
    void parseOrder(Constraint& c) {
        take();
        expectWord("at", "after 'order'", "as in: order at l1: k innermost");
        c.level = expectName("a memory name after 'at'");
        expectPunct(":", "after the memory name", "as in: order at " + c.level + ": k innermost");
        c.loop = expectLoop("a loop name");
        if (atWord("innermost")) {
            take();
            c.kind = Kind::OrderInnermost;
        } else if (atWord("inside") || atWord("outside")) {
            c.kind = take().text == "inside" ? Kind::OrderInside : Kind::OrderOutside;
            const Token& otherLoop = peek();
            c.other = expectLoop("a second loop name");
            if (c.other == c.loop)
                fail(otherLoop, "a loop cannot be placed relative to itself");
        } else if (atPunct(",") || pos_ == tokens_.size()) {
            c.kind = Kind::OrderPrefix;
            c.prefix.push_back(c.loop);
            while (atPunct(",")) {
                take();
                const Token& loop = peek();
                std::string name = expectLoop("a loop name after ','");
                if (std::find(c.prefix.begin(), c.prefix.end(), name) != c.prefix.end())
                    fail(loop, "loop '" + name + "' appears twice in the order");
                c.prefix.push_back(std::move(name));
            }
            c.loop.clear();
        } else {
            failHere("'innermost', 'inside', 'outside' or ',' after the loop name",
                     "as in: order at " + c.level + ": k innermost, or order at " + c.level + ": n, m");
        }
    }

    // [not] keep OPERAND in LEVEL
    void parseKeep(Constraint& c, bool negated) {
        take();
        c.kind = negated ? Kind::NotKeep : Kind::Keep;
        c.operand = expectName("an operand (a tensor name) after 'keep'");
        expectWord("in", "after the operand", "as in: keep " + c.operand + " in l1");
        c.level = expectName("a memory name after 'in'");
    }

    // [not] parallel LOOP
    void parseParallel(Constraint& c, bool negated) {
        take();
        c.kind = negated ? Kind::NotParallel : Kind::Parallel;
        c.loop = expectLoop("a loop name after 'parallel'");
    }

    void parseNegated(Constraint& c) {
        take();
        if (atWord("keep"))
            parseKeep(c, true);
        else if (atWord("parallel"))
            parseParallel(c, true);
        else
            failHere("'keep' or 'parallel' after 'not'", "only these two can be negated: not keep B in l2, not parallel k");
    }

    // cap LEVEL <= SIZE UNIT
    void parseCap(Constraint& c) {
        take();
        c.kind = Kind::Cap;
        c.level = expectName("a memory name after 'cap'");
        const Token& comparison = peek();
        if (expectComparison() != Comparison::AtMost)
            fail(comparison, "a cap is an upper bound: write '<='", "as in: cap " + c.level + " <= 512 KiB");
        if (!atKind(Token::Kind::Integer) && !atKind(Token::Kind::Number))
            failHere("a size", "as in: cap " + c.level + " <= 512 KiB");
        const Token& number = take();
        double value = 0;
        std::from_chars(number.text.data(), number.text.data() + number.text.size(), value);
        const std::string units = "the units of a size are " + ir::unitList(ir::Quantity::Bytes);
        if (!atKind(Token::Kind::Identifier))
            failHere("a unit after " + number.text, units);
        const Token& unit = take();
        const auto scale = ir::unitScale(ir::Quantity::Bytes, unit.text);
        if (!scale)
            fail(unit, "'" + unit.text + "' is not a unit of a size in bytes", units);
        const double bytes = std::round(value * *scale);
        if (!(bytes < static_cast<double>(std::numeric_limits<std::int64_t>::max())))
            fail(number, "the size " + number.text + " " + unit.text + " is too large");
        c.value = static_cast<std::int64_t>(bytes);
    }

    // ---- token helpers ---------------------------------------------------------------------

    enum class Comparison { Equal, AtMost, AtLeast, NotEqual };

    // '<=', '>=' and '!=' arrive as two tokens ('>' and '!' as characters the lexer does not know).
    Comparison expectComparison() {
        const std::string expected = "a comparison ('=', '<=', '>=' or '!=')";
        const std::string hint = "bounds include their value: write '<=' or '>='";
        if (atEnd())
            failHere(expected, hint);
        const Token& t = peek();
        const bool followedByEquals = pos_ + 1 < tokens_.size() && tokens_[pos_ + 1].text == "=" && touches(pos_, pos_ + 1);
        if (t.text == "=" && t.kind == Token::Kind::Punct) {
            if (pos_ + 1 < tokens_.size() && touches(pos_, pos_ + 1) &&
                (tokens_[pos_ + 1].text == "<" || tokens_[pos_ + 1].text == ">"))
                fail(t, "'=" + tokens_[pos_ + 1].text + "' is not a comparison", "write '" + tokens_[pos_ + 1].text + "='");
            take();
            return Comparison::Equal;
        }
        if (followedByEquals && (t.text == "<" || t.text == ">" || t.text == "!")) {
            take();
            take();
            return t.text == "<" ? Comparison::AtMost : t.text == ">" ? Comparison::AtLeast : Comparison::NotEqual;
        }
        failHere(expected, hint);
    }

    const Token& peek() const { return tokens_[std::min(pos_, tokens_.size() - 1)]; }
    const Token& take() {
        const Token& t = peek();
        ++pos_;
        return t;
    }
    bool atEnd() const { return pos_ >= tokens_.size(); }
    bool atKind(Token::Kind kind) const { return !atEnd() && peek().kind == kind; }
    bool atWord(std::string_view word) const { return atKind(Token::Kind::Identifier) && peek().text == word; }
    bool atPunct(std::string_view text) const { return atKind(Token::Kind::Punct) && peek().text == text; }
    bool touches(std::size_t a, std::size_t b) const {
        return tokens_[a].column + tokens_[a].length == tokens_[b].column;
    }

    bool isUnterminatedString(const Token& t) const {
        const std::size_t at = static_cast<std::size_t>(t.column - 1);
        return t.kind == Token::Kind::Invalid && at < sourceLine_.size() && sourceLine_[at] == '"';
    }

    std::string describe(const Token& t) const {
        if (isUnterminatedString(t))
            return "an unterminated string";
        switch (t.kind) {
        case Token::Kind::String: return "string \"" + t.text + "\"";
        // Halves of a comparison the lexer does not know on their own.
        case Token::Kind::Invalid: return t.text == ">" || t.text == "!" ? "'" + t.text + "'" : "character '" + t.text + "'";
        default: return "'" + t.text + "'";
        }
    }

    // Where a missing word would have been: just after the line's last token.
    ir::SourceLoc locOf(const Token& t) const { return ir::SourceLoc{t.line, t.column, std::max(1, t.length)}; }
    ir::SourceLoc endOfLine() const {
        const Token& last = tokens_.back();
        return ir::SourceLoc{last.line, last.column + last.length, 1};
    }

    [[noreturn]] void fail(const Token& at, std::string message, std::string hint = {}) {
        sink_.error(locOf(at), std::move(message), std::move(hint));
        throw Unwind{};
    }
    [[noreturn]] void failHere(const std::string& expected, std::string hint = {}) {
        if (atEnd()) {
            sink_.error(endOfLine(), "expected " + expected + ", found end of line", std::move(hint));
            throw Unwind{};
        }
        fail(peek(), "expected " + expected + ", found " + describe(peek()), std::move(hint));
    }

    void reportUnterminatedString() {
        for (const Token& t : tokens_)
            if (isUnterminatedString(t))
                fail(t, "unterminated string", "close it with \" on the same line");
    }

    std::string expectName(const std::string& what) {
        if (!atKind(Token::Kind::Identifier))
            failHere(what);
        return take().text;
    }
    // Loops of fused kernel dimensions are named with dots ("g.j"), written without spaces.
    std::string expectLoop(const std::string& what) {
        std::string name = expectName(what);
        while (atPunct(".") && touches(pos_ - 1, pos_) && pos_ + 1 < tokens_.size() &&
               tokens_[pos_ + 1].kind == Token::Kind::Identifier && touches(pos_, pos_ + 1)) {
            take();
            name += "." + take().text;
        }
        return name;
    }
    void expectWord(std::string_view word, const std::string& context, std::string hint) {
        if (!atWord(word))
            failHere("'" + std::string(word) + "' " + context, std::move(hint));
        take();
    }
    void expectPunct(std::string_view text, const std::string& context, std::string hint) {
        if (!atPunct(text))
            failHere("'" + std::string(text) + "' " + context, std::move(hint));
        take();
    }
    std::int64_t expectInteger(const std::string& what) {
        if (!atKind(Token::Kind::Integer))
            failHere(what);
        const Token& t = take();
        std::int64_t v = 0;
        auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc())
            fail(t, "integer " + t.text + " is too large");
        return v;
    }

    ir::DiagnosticSink& sink_;
    std::vector<Token> tokens_;
    std::string sourceLine_;
    std::size_t pos_ = 0;
};

// ---- names -------------------------------------------------------------------------------------

int loopIndex(const Space& space, const std::string& name) {
    for (std::size_t d = 0; d < space.dims.size(); ++d)
        if (space.dims[d].name == name)
            return static_cast<int>(d);
    return -1;
}

int levelIndex(const Space& space, const std::string& name) {
    for (std::size_t l = 0; l < space.levels.size(); ++l)
        if (space.levels[l].memory == name)
            return static_cast<int>(l);
    return -1;
}

int operandIndex(const Space& space, const std::string& name) {
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (space.operands[o].tensor == name)
            return static_cast<int>(o);
    return -1;
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

bool namesLevel(Kind k) {
    return k == Kind::TileEquals || k == Kind::TileAtMost || k == Kind::TileAtLeast || k == Kind::TileNot ||
           k == Kind::OrderInnermost || k == Kind::OrderInside || k == Kind::OrderOutside || k == Kind::OrderPrefix ||
           k == Kind::Keep || k == Kind::NotKeep || k == Kind::Cap;
}

bool isTile(Kind k) { return k == Kind::TileEquals || k == Kind::TileAtMost || k == Kind::TileAtLeast || k == Kind::TileNot; }

// The loops a constraint names.
std::vector<std::string> loopsOf(const Constraint& c) {
    switch (c.kind) {
    case Kind::OrderPrefix: return c.prefix;
    case Kind::OrderInside:
    case Kind::OrderOutside: return {c.loop, c.other};
    case Kind::TileEquals:
    case Kind::TileAtMost:
    case Kind::TileAtLeast:
    case Kind::TileNot:
    case Kind::OrderInnermost:
    case Kind::Parallel:
    case Kind::NotParallel: return {c.loop};
    default: return {};
    }
}

// The names of the constraint the space lacks, each in words.
std::vector<std::string> missingNames(const Space& space, const Constraint& c) {
    std::vector<std::string> missing;
    for (const auto& loop : loopsOf(c))
        if (loopIndex(space, loop) < 0) {
            std::vector<std::string> loops;
            for (const auto& d : space.dims)
                loops.push_back(d.name);
            missing.push_back("there is no loop '" + loop + "' (the loops are " + joined(loops) + ")");
        }
    if (namesLevel(c.kind) && levelIndex(space, c.level) < 0) {
        std::vector<std::string> levels;
        for (const auto& l : space.levels)
            levels.push_back(l.memory);
        missing.push_back("there is no memory level '" + c.level + "' (the levels are " + joined(levels) + ")");
    }
    if ((c.kind == Kind::Keep || c.kind == Kind::NotKeep) && operandIndex(space, c.operand) < 0) {
        std::vector<std::string> operands;
        for (const auto& o : space.operands)
            operands.push_back(o.tensor);
        missing.push_back("there is no operand '" + c.operand + "' (the operands are " + joined(operands) + ")");
    }
    return missing;
}

// The constraint as text: as written when parsed, rebuilt from its fields when made through the API.
std::string spelled(const Constraint& c) {
    if (!c.text.empty())
        return c.text;
    const std::string tileAt = "tile " + c.loop + " at " + c.level;
    const std::string orderAt = "order at " + c.level + ": ";
    switch (c.kind) {
    case Kind::PinInstruction: return "pin instruction " + c.name;
    case Kind::PinCandidate: return "pin candidate \"" + c.name + "\"";
    case Kind::TileEquals: return tileAt + " = " + std::to_string(c.value);
    case Kind::TileAtMost: return tileAt + " <= " + std::to_string(c.value);
    case Kind::TileAtLeast: return tileAt + " >= " + std::to_string(c.value);
    case Kind::TileNot: return tileAt + " != " + std::to_string(c.value);
    case Kind::OrderInnermost: return orderAt + c.loop + " innermost";
    case Kind::OrderInside: return orderAt + c.loop + " inside " + c.other;
    case Kind::OrderOutside: return orderAt + c.loop + " outside " + c.other;
    case Kind::OrderPrefix: return orderAt + joined(c.prefix);
    case Kind::Keep: return "keep " + c.operand + " in " + c.level;
    case Kind::NotKeep: return "not keep " + c.operand + " in " + c.level;
    case Kind::Cap: return "cap " + c.level + " <= " + ir::formatQuantity(ir::Quantity::Bytes, static_cast<double>(c.value));
    case Kind::Parallel: return "parallel " + c.loop;
    case Kind::NotParallel: return "not parallel " + c.loop;
    }
    return {};
}

bool describesSpace(const Space& space, const Schedule& s) {
    if (s.levels.size() != space.levels.size() || s.parallel.size() != space.dims.size() ||
        s.unroll.size() != space.dims.size())
        return false;
    return std::all_of(s.levels.begin(), s.levels.end(), [&](const schedule::LevelSchedule& l) {
        return l.tiles.size() == space.dims.size() && l.order.size() == space.dims.size() &&
               l.keeps.size() == space.operands.size();
    });
}

// Bytes of the tiles kept at level `l`, double buffers included, as schedule::illegal counts them.
double keptBytes(const Space& space, const Schedule& s, std::size_t l) {
    const auto& level = s.levels[l];
    double bytes = 0;
    for (std::size_t o = 0; o < space.operands.size(); ++o)
        if (level.keeps[o])
            bytes += static_cast<double>(schedule::footprint(space, o, level.tiles)) * space.operands[o].bytesPerElement *
                     (level.doubleBuffered ? 2 : 1);
    return bytes;
}

std::string orderText(const Space& space, std::span<const int> order) {
    std::vector<std::string> names;
    for (int d : order)
        names.push_back(space.dims[static_cast<std::size_t>(d)].name);
    return joined(names);
}

// How `s` breaks `c`, in words; empty when it keeps it. Names must exist and `s` must describe the space.
std::optional<std::string> breach(const Space& space, const Schedule& s, const Constraint& c) {
    const int d = loopIndex(space, c.loop);
    const int l = levelIndex(space, c.level);
    const auto& level = s.levels[static_cast<std::size_t>(std::max(l, 0))];
    const auto tile = [&] { return level.tiles[static_cast<std::size_t>(d)]; };
    const auto position = [&](int loop) {
        return std::find(level.order.begin(), level.order.end(), loop) - level.order.begin();
    };
    const std::string tileIs = "its tile there is ";
    switch (c.kind) {
    case Kind::PinInstruction:
        if (space.instruction != c.name)
            return "the schedule uses instruction " + space.instruction;
        break;
    case Kind::PinCandidate:
        if (space.candidateKey != c.name)
            return "the schedule is for candidate \"" + space.candidateKey + "\"";
        break;
    case Kind::TileEquals:
        if (tile() != c.value)
            return tileIs + std::to_string(tile());
        break;
    case Kind::TileAtMost:
        if (tile() > c.value)
            return tileIs + std::to_string(tile());
        break;
    case Kind::TileAtLeast:
        if (tile() < c.value)
            return tileIs + std::to_string(tile());
        break;
    case Kind::TileNot:
        if (tile() == c.value)
            return tileIs + std::to_string(tile());
        break;
    case Kind::OrderInnermost:
        if (!level.order.empty() && level.order.back() != d)
            return "the innermost loop there is " + orderText(space, std::vector<int>{level.order.back()});
        break;
    case Kind::OrderInside:
        if (position(d) < position(loopIndex(space, c.other)))
            return c.loop + " is outside " + c.other + " there";
        break;
    case Kind::OrderOutside:
        if (position(d) > position(loopIndex(space, c.other)))
            return c.loop + " is inside " + c.other + " there";
        break;
    case Kind::OrderPrefix:
        for (std::size_t i = 0; i < c.prefix.size(); ++i)
            if (i >= level.order.size() || level.order[i] != loopIndex(space, c.prefix[i]))
                return "the order there is " + orderText(space, level.order);
        break;
    case Kind::Keep:
        if (!level.keeps[static_cast<std::size_t>(operandIndex(space, c.operand))])
            return c.operand + " is not kept there";
        break;
    case Kind::NotKeep:
        if (level.keeps[static_cast<std::size_t>(operandIndex(space, c.operand))])
            return c.operand + " is kept there";
        break;
    case Kind::Cap: {
        const double bytes = keptBytes(space, s, static_cast<std::size_t>(l));
        if (bytes > static_cast<double>(c.value))
            return "the tiles kept there need " + ir::formatQuantity(ir::Quantity::Bytes, bytes);
        break;
    }
    case Kind::Parallel:
        if (!s.parallel[static_cast<std::size_t>(d)])
            return c.loop + " does not run in parallel";
        break;
    case Kind::NotParallel:
        if (s.parallel[static_cast<std::size_t>(d)])
            return c.loop + " runs in parallel";
        break;
    }
    return std::nullopt;
}

// ---- apply -------------------------------------------------------------------------------------

// What the constraints allow for one loop's tile at one level.
struct TileRange {
    std::int64_t low = 1;
    std::int64_t high = std::numeric_limits<std::int64_t>::max();
    std::set<std::int64_t> forbidden;
};

// The allowed value nearest to `tile` within [low, high], smaller first; `tile` itself when none is.
std::int64_t avoidForbidden(std::int64_t tile, std::int64_t low, std::int64_t high, const std::set<std::int64_t>& forbidden) {
    if (!forbidden.count(tile))
        return tile;
    for (std::int64_t step = 1; step <= static_cast<std::int64_t>(forbidden.size()); ++step) {
        if (tile - step >= low && !forbidden.count(tile - step))
            return tile - step;
        if (tile + step <= high && !forbidden.count(tile + step))
            return tile + step;
    }
    return tile;
}

// Shrinks the tiles of level `l` until what it keeps fits `cap` bytes, halving each time the loop
// whose halving saves the most, never below `lowest`.
void shrinkUnderCap(const Space& space, Schedule& s, std::size_t l, double cap, const std::vector<std::int64_t>& lowest) {
    auto& tiles = s.levels[l].tiles;
    for (int guard = 0; guard < 256 && keptBytes(space, s, l) > cap; ++guard) {
        const double before = keptBytes(space, s, l);
        double bestSaving = 0;
        int best = -1;
        for (std::size_t d = 0; d < tiles.size(); ++d) {
            const std::int64_t halved = std::max(tiles[d] / 2, lowest[d]);
            if (halved >= tiles[d])
                continue;
            const std::int64_t was = tiles[d];
            tiles[d] = halved;
            const double saving = before - keptBytes(space, s, l);
            tiles[d] = was;
            if (saving > bestSaving) {
                bestSaving = saving;
                best = static_cast<int>(d);
            }
        }
        if (best < 0)
            return;
        tiles[static_cast<std::size_t>(best)] = std::max(tiles[static_cast<std::size_t>(best)] / 2, lowest[static_cast<std::size_t>(best)]);
    }
}

// Tiles from the outermost level in: each clamped into what its constraints allow and never above its
// parent's (schedule::illegal's rule), so a lower bound deep in the hierarchy raises the levels above it.
void applyTiles(const Space& space, const std::vector<const Constraint*>& items, Schedule& s) {
    const std::size_t nl = space.levels.size();
    const std::size_t nd = space.dims.size();
    std::vector<std::vector<TileRange>> ranges(nl, std::vector<TileRange>(nd));
    std::vector<double> caps(nl, std::numeric_limits<double>::infinity());
    for (const Constraint* item : items) {
        const Constraint& c = *item;
        const int l = levelIndex(space, c.level);
        if (l < 0)
            continue;
        if (c.kind == Kind::Cap) {
            caps[static_cast<std::size_t>(l)] = std::min(caps[static_cast<std::size_t>(l)], static_cast<double>(c.value));
            continue;
        }
        const int d = loopIndex(space, c.loop);
        if (!isTile(c.kind) || d < 0)
            continue;
        TileRange& r = ranges[static_cast<std::size_t>(l)][static_cast<std::size_t>(d)];
        if (c.kind == Kind::TileEquals || c.kind == Kind::TileAtLeast)
            r.low = std::max(r.low, c.value);
        if (c.kind == Kind::TileEquals || c.kind == Kind::TileAtMost)
            r.high = std::min(r.high, c.value);
        if (c.kind == Kind::TileNot)
            r.forbidden.insert(c.value);
    }
    // The smallest tile each level must leave room for, its own bound and those below it.
    std::vector<std::vector<std::int64_t>> lowest(nl, std::vector<std::int64_t>(nd, 1));
    for (std::size_t l = nl; l-- > 0;)
        for (std::size_t d = 0; d < nd; ++d)
            lowest[l][d] = std::max(ranges[l][d].low, l + 1 < nl ? lowest[l + 1][d] : 1);

    for (std::size_t l = 1; l < nl; ++l) {
        for (std::size_t d = 0; d < nd; ++d) {
            const std::int64_t parent = s.levels[l - 1].tiles[d];
            const std::int64_t high = std::min(ranges[l][d].high, parent);
            std::int64_t& tile = s.levels[l].tiles[d];
            tile = std::min(std::max(tile, lowest[l][d]), high);
            tile = avoidForbidden(tile, lowest[l][d], high, ranges[l][d].forbidden);
            tile = std::clamp<std::int64_t>(tile, 1, std::max<std::int64_t>(1, parent));
        }
        if (std::isfinite(caps[l]))
            shrinkUnderCap(space, s, l, caps[l], lowest[l]);
    }
    for (std::size_t d = 0; d < nd; ++d)
        s.unroll[d] = std::clamp<std::int64_t>(s.unroll[d], 1, s.levels.back().tiles[d]);
}

// The order of one level under its constraints: the prefix first, the innermost loop last, and the
// loops between sorted so that each relative constraint holds, otherwise keeping `current`'s order.
std::vector<int> constrainedOrder(const Space& space, std::span<const int> current, const std::vector<const Constraint*>& cs) {
    const int nd = static_cast<int>(space.dims.size());
    std::vector<int> prefix;
    int innermost = -1;
    std::vector<std::pair<int, int>> before; // (outer, inner)
    for (const Constraint* c : cs) {
        if (c->kind == Kind::OrderPrefix && prefix.empty())
            for (const auto& name : c->prefix)
                prefix.push_back(loopIndex(space, name));
        if (c->kind == Kind::OrderInnermost && innermost < 0)
            innermost = loopIndex(space, c->loop);
        if (c->kind == Kind::OrderInside)
            before.emplace_back(loopIndex(space, c->other), loopIndex(space, c->loop));
        if (c->kind == Kind::OrderOutside)
            before.emplace_back(loopIndex(space, c->loop), loopIndex(space, c->other));
    }
    std::vector<bool> placed(static_cast<std::size_t>(nd), false);
    std::vector<int> order;
    for (int d : prefix)
        if (!placed[static_cast<std::size_t>(d)]) {
            order.push_back(d);
            placed[static_cast<std::size_t>(d)] = true;
        }
    // The loops still to place, in their current order (repairing an order that misses some).
    std::vector<int> rest;
    std::vector<bool> listed(static_cast<std::size_t>(nd), false);
    for (int d : current)
        if (d >= 0 && d < nd && !listed[static_cast<std::size_t>(d)]) {
            listed[static_cast<std::size_t>(d)] = true;
            if (!placed[static_cast<std::size_t>(d)] && d != innermost)
                rest.push_back(d);
        }
    for (int d = 0; d < nd; ++d)
        if (!listed[static_cast<std::size_t>(d)] && !placed[static_cast<std::size_t>(d)] && d != innermost)
            rest.push_back(d);
    // Stable topological sort: take the first loop no unplaced loop must precede; on a cycle, the first.
    while (!rest.empty()) {
        auto ready = std::find_if(rest.begin(), rest.end(), [&](int d) {
            return std::none_of(before.begin(), before.end(), [&](const std::pair<int, int>& e) {
                return e.second == d && std::find(rest.begin(), rest.end(), e.first) != rest.end();
            });
        });
        if (ready == rest.end())
            ready = rest.begin();
        order.push_back(*ready);
        placed[static_cast<std::size_t>(*ready)] = true;
        rest.erase(ready);
    }
    if (innermost >= 0 && !placed[static_cast<std::size_t>(innermost)])
        order.push_back(innermost);
    return order;
}

} // namespace

// ---- Set -----------------------------------------------------------------------------------------

bool Set::allowsCandidate(const mapping::Candidate& c, std::string* why) const {
    for (const auto& item : items) {
        std::string broken;
        if (item.kind == Kind::PinInstruction && c.instruction != item.name)
            broken = "the candidate uses instruction " + c.instruction;
        else if (item.kind == Kind::PinCandidate && c.key != item.name)
            broken = "the candidate is \"" + c.key + "\"";
        if (!broken.empty()) {
            if (why)
                *why = "breaks `" + spelled(item) + "`: " + broken;
            return false;
        }
    }
    return true;
}

bool Set::allows(const Space& space, const Schedule& s, std::string* why) const {
    if (!describesSpace(space, s)) {
        if (why)
            *why = "the schedule does not describe every level, loop and operand of the space";
        return false;
    }
    for (const auto& item : items) {
        const auto missing = missingNames(space, item);
        auto broken = missing.empty() ? breach(space, s, item) : std::optional<std::string>(missing.front());
        if (broken) {
            if (why)
                *why = "breaks `" + spelled(item) + "`: " + *broken;
            return false;
        }
    }
    return true;
}

void Set::apply(const Space& space, Schedule& s) const {
    if (!describesSpace(space, s))
        return;
    std::vector<const Constraint*> usable;
    for (const auto& item : items)
        if (missingNames(space, item).empty())
            usable.push_back(&item);
    for (const Constraint* c : usable) {
        const int l = levelIndex(space, c->level);
        if (c->kind == Kind::Keep || c->kind == Kind::NotKeep)
            s.levels[static_cast<std::size_t>(l)].keeps[static_cast<std::size_t>(operandIndex(space, c->operand))] =
                c->kind == Kind::Keep;
        if (c->kind == Kind::Parallel || c->kind == Kind::NotParallel)
            s.parallel[static_cast<std::size_t>(loopIndex(space, c->loop))] = c->kind == Kind::Parallel;
    }
    for (std::size_t l = 0; l < space.levels.size(); ++l) {
        std::vector<const Constraint*> orders;
        for (const Constraint* c : usable)
            if ((c->kind == Kind::OrderInnermost || c->kind == Kind::OrderInside || c->kind == Kind::OrderOutside ||
                 c->kind == Kind::OrderPrefix) &&
                levelIndex(space, c->level) == static_cast<int>(l))
                orders.push_back(c);
        if (!orders.empty())
            s.levels[l].order = constrainedOrder(space, s.levels[l].order, orders);
    }
    applyTiles(space, usable, s);
}

std::vector<std::string> Set::unknownNames(const Space& space) const {
    std::vector<std::string> out;
    for (const auto& item : items)
        for (const auto& missing : missingNames(space, item))
            out.push_back("`" + spelled(item) + "`: " + missing);
    return out;
}

ParseResult parse(const ir::SourceFile& file) {
    ParseResult result;
    ir::DiagnosticSink sink(file);
    const std::vector<Token> tokens = ir::tokenize(file.text);
    // One constraint per line: group the tokens by line (no token spans two lines).
    std::size_t begin = 0;
    while (begin < tokens.size() && tokens[begin].kind != Token::Kind::End) {
        std::size_t end = begin;
        while (end < tokens.size() && tokens[end].kind != Token::Kind::End && tokens[end].line == tokens[begin].line)
            ++end;
        try {
            result.set.items.push_back(
                LineParser(file, sink, std::vector<Token>(tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                                                          tokens.begin() + static_cast<std::ptrdiff_t>(end)))
                    .run());
        } catch (const Unwind&) {
        }
        begin = end;
    }
    result.diagnostics = sink.take();
    return result;
}

std::vector<std::size_t> conflict(const Set& set, const std::function<bool(const Set&)>& feasible) {
    if (feasible(set))
        return {};
    std::vector<std::size_t> kept(set.items.size());
    for (std::size_t i = 0; i < kept.size(); ++i)
        kept[i] = i;
    const auto subset = [&](const std::vector<std::size_t>& indices) {
        Set sub;
        for (std::size_t i : indices)
            sub.items.push_back(set.items[i]);
        return sub;
    };
    // Deletion filter: a constraint the rest conflict without is not needed to explain the conflict.
    for (std::size_t i = 0; i < set.items.size(); ++i) {
        std::vector<std::size_t> without;
        for (std::size_t k : kept)
            if (k != i)
                without.push_back(k);
        if (!feasible(subset(without)))
            kept = std::move(without);
    }
    return kept;
}

} // namespace isamap::constraints
