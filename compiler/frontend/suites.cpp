// Kernel suites: each bundled CSV file of reference workloads read row by row, every row turned into
// a call of a library generator and checked against that generator's argument rules, so that a bad
// row is reported as "FILE:LINE: ..." when the suite loads rather than later, far from its cause.
#include "frontend/suites.h"

#include "frontend/generator_spec.h"
#include "support/resources.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

namespace isamap::frontend {

namespace {

// A problem in a suite file, already worded as "FILE:LINE: message". Thrown while reading and turned
// into the error string at the public functions, so the row converters stay straight-line code.
struct SuiteError {
    std::string message;
};

struct CsvRow {
    int line = 0; // 1-based line in the file
    std::map<std::string, std::string> fields;
};

// A CSV file with a header line, fields looked up by column name so that the column order of the
// file does not matter. Plain comma-separated fields only (no quoting): the suite files need no more.
class Csv {
public:
    Csv(std::string fileName, const std::string& text, const std::vector<std::string>& requiredColumns)
        : fileName_(std::move(fileName)) {
        std::vector<std::string> header;
        int headerLine = 0;
        int lineNumber = 0;
        std::size_t start = 0;
        while (start < text.size()) {
            std::size_t end = text.find('\n', start);
            if (end == std::string::npos)
                end = text.size();
            const std::string line = trim(text.substr(start, end - start));
            start = end + 1;
            ++lineNumber;
            if (line.empty())
                continue;
            std::vector<std::string> fields = split(line);
            if (header.empty()) {
                header = std::move(fields);
                headerLine = lineNumber;
                continue;
            }
            if (fields.size() != header.size())
                fail(lineNumber, "expected " + std::to_string(header.size()) + " columns, found " +
                                     std::to_string(fields.size()));
            CsvRow row{lineNumber, {}};
            for (std::size_t i = 0; i < header.size(); ++i)
                row.fields[header[i]] = fields[i];
            rows_.push_back(std::move(row));
        }
        if (header.empty())
            fail(1, "the file is empty; expected a header line naming the columns");
        for (const auto& column : requiredColumns)
            if (std::find(header.begin(), header.end(), column) == header.end())
                fail(headerLine,
                     "missing column '" + column + "'; the suite needs " + joined(requiredColumns));
    }

    const std::vector<CsvRow>& rows() const { return rows_; }

    const std::string& text(const CsvRow& row, const std::string& column) const {
        return row.fields.at(column);
    }

    std::int64_t integer(const CsvRow& row, const std::string& column) const {
        const std::string& field = text(row, column);
        std::int64_t value = 0;
        auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
        if (ec != std::errc() || ptr != field.data() + field.size() || field.empty())
            fail(row.line, "column '" + column + "' should be an integer, not '" + field + "'");
        return value;
    }

    bool flag(const CsvRow& row, const std::string& column) const {
        const std::string& field = text(row, column);
        if (field == "true" || field == "1")
            return true;
        if (field == "false" || field == "0")
            return false;
        fail(row.line, "column '" + column + "' should be true or false, not '" + field + "'");
    }

    [[noreturn]] void fail(int line, const std::string& message) const {
        throw SuiteError{fileName_ + ":" + std::to_string(line) + ": " + message};
    }

private:
    static std::string trim(const std::string& s) {
        const auto first = s.find_first_not_of(" \t\r");
        if (first == std::string::npos)
            return {};
        return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
    }
    static std::vector<std::string> split(const std::string& line) {
        std::vector<std::string> out;
        std::size_t start = 0;
        while (true) {
            const std::size_t comma = line.find(',', start);
            out.push_back(
                trim(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
            if (comma == std::string::npos)
                return out;
            start = comma + 1;
        }
    }
    static std::string joined(const std::vector<std::string>& names) {
        std::string out;
        for (const auto& n : names)
            out += (out.empty() ? "" : ", ") + n;
        return out;
    }

    std::string fileName_;
    std::vector<CsvRow> rows_;
};

// DeepBench's set names, shortened for entry names.
std::string setPrefix(const std::string& set) {
    if (set == "training_set")
        return "train";
    if (set == "inference_server_set")
        return "server";
    if (set == "inference_device_set")
        return "device";
    return set;
}

// ---- DeepBench ----------------------------------------------------------------------------------

std::vector<SuiteEntry> deepbenchGemm(const Csv& csv) {
    std::vector<SuiteEntry> out;
    for (const auto& row : csv.rows()) {
        const std::int64_t m = csv.integer(row, "m"), n = csv.integer(row, "n"), k = csv.integer(row, "k");
        const bool ta = csv.flag(row, "a_transposed"), tb = csv.flag(row, "b_transposed");
        const std::string& set = csv.text(row, "set");
        out.push_back({setPrefix(set) + "_" + str(m) + "x" + str(n) + "x" + str(k) + "_" + (ta ? "t" : "n") +
                           (tb ? "t" : "n"),
                       set,
                       "gemm",
                       {{"M", m}, {"N", n}, {"K", k}, {"ta", ta}, {"tb", tb}},
                       row.line});
    }
    return out;
}

// One step of the cell; the number of time steps belongs to the sequence and stays in the name.
std::vector<SuiteEntry> deepbenchRnn(const Csv& csv) {
    const std::map<std::string, std::string> generatorOfCell = {
        {"vanilla", "rnn_cell"}, {"gru", "gru_cell"}, {"lstm", "lstm_cell"}};
    std::vector<SuiteEntry> out;
    for (const auto& row : csv.rows()) {
        const std::string& cell = csv.text(row, "cell");
        auto generator = generatorOfCell.find(cell);
        if (generator == generatorOfCell.end())
            csv.fail(row.line, "unknown cell '" + cell + "'; expected vanilla, gru or lstm");
        const std::int64_t hidden = csv.integer(row, "hidden"), batch = csv.integer(row, "batch");
        const std::int64_t steps = csv.integer(row, "timesteps");
        const std::string& set = csv.text(row, "set");
        out.push_back({setPrefix(set) + "_" + cell + "_" + str(hidden) + "x" + str(batch) + "_t" + str(steps),
                       set,
                       generator->second,
                       {{"H", hidden}, {"B", batch}, {"I", hidden}},
                       row.line});
    }
    return out;
}

std::vector<SuiteEntry> deepbenchConv(const Csv& csv) {
    std::vector<SuiteEntry> out;
    for (const auto& row : csv.rows()) {
        auto v = [&](const char* column) { return csv.integer(row, column); };
        const std::string& set = csv.text(row, "set");
        const std::string name = setPrefix(set) + "_" + str(v("w")) + "x" + str(v("h")) + "x" + str(v("c")) +
                                 "x" + str(v("n")) + "_k" + str(v("k")) + "_" + str(v("filter_w")) + "x" +
                                 str(v("filter_h")) + "_p" + str(v("pad_w")) + "x" + str(v("pad_h")) + "_s" +
                                 str(v("stride_w")) + "x" + str(v("stride_h"));
        out.push_back({name,
                       set,
                       "conv2d",
                       {{"N", v("n")},
                        {"C", v("c")},
                        {"K", v("k")},
                        {"H", v("h")},
                        {"W", v("w")},
                        {"R", v("filter_h")},
                        {"S", v("filter_w")},
                        {"pad_h", v("pad_h")},
                        {"pad_w", v("pad_w")},
                        {"stride_h", v("stride_h")},
                        {"stride_w", v("stride_w")}},
                       row.line});
    }
    return out;
}

// ---- MobileNet-v1 -------------------------------------------------------------------------------

// One layer of the table as its library call; the table's own consistency (a depthwise layer keeps
// its channels, a pointwise layer is 1x1) is checked so a wrong row does not pass as another layer.
SuiteEntry mobilenetLayer(const Csv& csv, const CsvRow& row) {
    auto v = [&](const char* column) { return csv.integer(row, column); };
    const std::string& kind = csv.text(row, "kind");
    SuiteEntry e{csv.text(row, "layer"), "", "", {}, row.line};
    if (kind == "conv") {
        e.generator = "conv2d";
        e.args = {{"C", v("in_channels")}, {"K", v("out_channels")}, {"H", v("in_h")},
                  {"W", v("in_w")},        {"R", v("kernel")},       {"S", v("kernel")},
                  {"stride", v("stride")}, {"pad", v("pad")},        {"groups", v("groups")}};
    } else if (kind == "depthwise") {
        if (v("out_channels") != v("in_channels") || v("groups") != v("in_channels"))
            csv.fail(row.line, "a depthwise layer needs out_channels = in_channels = groups");
        e.generator = "depthwise";
        e.args = {{"C", v("in_channels")}, {"H", v("in_h")},        {"W", v("in_w")}, {"R", v("kernel")},
                  {"S", v("kernel")},      {"stride", v("stride")}, {"pad", v("pad")}};
    } else if (kind == "pointwise") {
        if (v("kernel") != 1 || v("stride") != 1 || v("pad") != 0 || v("groups") != 1)
            csv.fail(row.line, "a pointwise layer needs kernel 1, stride 1, pad 0 and groups 1");
        e.generator = "pointwise";
        e.args = {{"C", v("in_channels")}, {"K", v("out_channels")}, {"H", v("in_h")}, {"W", v("in_w")}};
    } else if (kind == "gemm") {
        // The classifier: the (pooled) input flattened into IN features.
        e.generator = "fully_connected";
        e.args = {{"IN", v("in_channels") * v("in_h") * v("in_w")}, {"OUT", v("out_channels")}};
    } else {
        csv.fail(row.line, "unknown layer kind '" + kind + "'; expected conv, depthwise, pointwise or gemm");
    }
    return e;
}

std::vector<SuiteEntry> mobilenet(const Csv& csv) {
    std::vector<SuiteEntry> out;
    for (const auto& row : csv.rows())
        out.push_back(mobilenetLayer(csv, row));
    return out;
}

// Each depthwise layer with the pointwise layer that follows it, as one dwsep graph.
std::vector<SuiteEntry> mobilenetBlocks(const Csv& csv) {
    std::vector<SuiteEntry> out;
    const auto& rows = csv.rows();
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (csv.text(rows[i], "kind") != "depthwise")
            continue;
        const SuiteEntry dw = mobilenetLayer(csv, rows[i]);
        if (i + 1 == rows.size() || csv.text(rows[i + 1], "kind") != "pointwise")
            csv.fail(rows[i].line, "depthwise layer '" + dw.name + "' is not followed by a pointwise layer");
        const SuiteEntry pw = mobilenetLayer(csv, rows[i + 1]);
        if (pw.args.at("C") != dw.args.at("C"))
            csv.fail(rows[i + 1].line, "pointwise layer '" + pw.name + "' takes " + str(pw.args.at("C")) +
                                           " channels but depthwise layer '" + dw.name + "' gives " +
                                           str(dw.args.at("C")));
        const std::int64_t height =
            (dw.args.at("H") + 2 * dw.args.at("pad") - dw.args.at("R")) / dw.args.at("stride") + 1;
        if (pw.args.at("H") != height)
            csv.fail(rows[i + 1].line, "pointwise layer '" + pw.name + "' takes height " +
                                           str(pw.args.at("H")) + " but depthwise layer '" + dw.name +
                                           "' gives " + str(height));
        Args args = dw.args;
        args["K"] = pw.args.at("K");
        out.push_back(
            {"block" + str(static_cast<std::int64_t>(out.size() + 1)), "", "dwsep", args, rows[i].line});
    }
    return out;
}

// ---- the table of suites --------------------------------------------------------------------------

const std::vector<std::string> kMobilenetColumns = {
    "layer", "kind", "in_channels", "out_channels", "in_h", "in_w", "kernel", "stride", "pad", "groups"};

struct SuiteDef {
    SuiteInfo info;
    std::vector<std::string> columns;
    std::function<std::vector<SuiteEntry>(const Csv&)> entries;
};

const std::vector<SuiteDef>& definitions() {
    static const std::vector<SuiteDef> all = {
        {{"deepbench-gemm", "suites/deepbench_gemm.csv",
          "DeepBench GEMM sizes (training, server and device inference)"},
         {"set", "m", "n", "k", "a_transposed", "b_transposed"},
         deepbenchGemm},
        {{"deepbench-rnn", "suites/deepbench_rnn.csv",
          "DeepBench RNN sizes: one step of a vanilla, GRU or LSTM cell"},
         {"set", "hidden", "batch", "timesteps", "cell"},
         deepbenchRnn},
        {{"deepbench-conv", "suites/deepbench_conv.csv", "DeepBench convolution sizes, NCHW"},
         {"set", "w", "h", "c", "n", "k", "filter_w", "filter_h", "pad_w", "pad_h", "stride_w", "stride_h"},
         deepbenchConv},
        {{"mobilenet-v1", "suites/mobilenet_v1.csv",
          "MobileNet-v1 layer by layer: convolution, depthwise, pointwise, classifier"},
         kMobilenetColumns,
         mobilenet},
        {{"mobilenet-v1-dwsep", "suites/mobilenet_v1.csv",
          "the 13 depthwise-separable blocks of MobileNet-v1 as graphs"},
         kMobilenetColumns,
         mobilenetBlocks},
    };
    return all;
}

const SuiteDef* findDefinition(const std::string& name, std::string& error) {
    for (const auto& d : definitions())
        if (d.info.name == name)
            return &d;
    error = "unknown suite '" + name + "'; the suites are:";
    for (const auto& d : definitions())
        error += " " + d.info.name;
    return nullptr;
}

// Repeated rows keep their place and get a counter: "x", "x_2", "x_3".
void makeNamesUnique(std::vector<SuiteEntry>& entries) {
    std::set<std::string> taken;
    for (auto& e : entries) {
        std::string name = e.name;
        for (int n = 2; taken.count(name); ++n)
            name = e.name + "_" + std::to_string(n);
        e.name = name;
        taken.insert(name);
    }
}

std::optional<std::vector<SuiteEntry>> load(const SuiteDef& def, const std::string& fileName,
                                            const std::filesystem::path& path, std::string& error) {
    auto text = readFile(path, error);
    if (!text)
        return std::nullopt;
    try {
        Csv csv(fileName, *text, def.columns);
        std::vector<SuiteEntry> entries = def.entries(csv);
        makeNamesUnique(entries);
        for (const auto& e : entries) {
            std::string problem;
            if (!generateText(e.generator, e.args, problem))
                csv.fail(e.csvLine, problem);
        }
        return entries;
    } catch (const SuiteError& e) {
        error = e.message;
        return std::nullopt;
    }
}

} // namespace

const std::vector<SuiteInfo>& suites() {
    static const std::vector<SuiteInfo> all = [] {
        std::vector<SuiteInfo> out;
        for (const auto& d : definitions())
            out.push_back(d.info);
        return out;
    }();
    return all;
}

// Bundled files are reported by their file name: where the resources happen to be installed says
// nothing about the problem.
std::optional<std::vector<SuiteEntry>> loadSuite(const std::string& name, std::string& error) {
    const SuiteDef* def = findDefinition(name, error);
    if (!def)
        return std::nullopt;
    const std::filesystem::path path = resourcePath(def->info.file);
    return load(*def, path.filename().string(), path, error);
}

std::optional<std::vector<SuiteEntry>> loadSuiteFile(const std::string& suiteName, const std::string& csvPath,
                                                     std::string& error) {
    const SuiteDef* def = findDefinition(suiteName, error);
    if (!def)
        return std::nullopt;
    return load(*def, csvPath, csvPath, error);
}

} // namespace isamap::frontend
