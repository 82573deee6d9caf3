#include "views/project_model.h"

#include "frontend/library.h"
#include "ir/printer.h"
#include "targets/catalog.h"
#include "views/duration_text.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace isamap::views {

const StoredSchedule* ProjectContents::find(std::int64_t scheduleId) const {
    for (const auto& s : schedules)
        if (s.record.id == scheduleId)
            return &s;
    return nullptr;
}

namespace {

template <typename Records>
std::string nameOf(const Records& records, std::int64_t id) {
    for (const auto& r : records)
        if (r.id == id)
            return r.name;
    return "#" + std::to_string(id);
}

template <typename Records>
const std::string* textOf(const Records& records, std::int64_t id) {
    for (const auto& r : records)
        if (r.id == id)
            return &r.text;
    return nullptr;
}

} // namespace

std::optional<ProjectContents> readProject(const std::string& path, std::string& error) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        error = path + ": no such project file";
        return std::nullopt;
    }
    auto project = store::Project::open(path, error);
    if (!project)
        return std::nullopt;
    ProjectContents contents;
    contents.path = path;
    auto kernels = project->kernels(error);
    auto targets = kernels ? project->targets(error) : std::nullopt;
    auto runs = targets ? project->runs(error) : std::nullopt;
    auto schedules = runs ? project->schedules({}, error) : std::nullopt;
    if (!schedules)
        return std::nullopt;
    contents.kernels = std::move(*kernels);
    contents.targets = std::move(*targets);
    contents.runs = std::move(*runs);
    for (auto& record : *schedules) {
        StoredSchedule s;
        s.kernel = nameOf(contents.kernels, record.kernelId);
        s.target = nameOf(contents.targets, record.targetId);
        auto measured = project->measurements(record.id, error);
        if (!measured)
            return std::nullopt;
        if (!measured->empty()) {
            s.measured = measured->back().seconds;
            s.measuredKind = measured->back().kind;
        }
        s.record = std::move(record);
        contents.schedules.push_back(std::move(s));
    }
    return contents;
}

std::optional<ResolvedSchedule> resolveSchedule(const ProjectContents& project, const store::ScheduleRecord& record,
                                                std::string& error) {
    const std::string* kernelText = textOf(project.kernels, record.kernelId);
    const std::string* targetText = textOf(project.targets, record.targetId);
    const std::string which = "schedule " + std::to_string(record.id);
    if (!kernelText || !targetText) {
        error = which + " refers to a kernel or target the project does not hold";
        return std::nullopt;
    }
    auto kernelModule = frontend::parseAndCheck({"kernel #" + std::to_string(record.kernelId), *kernelText});
    auto targetModule = frontend::parseAndCheck({"target #" + std::to_string(record.targetId), *targetText});
    if (ir::hasErrors(kernelModule.diagnostics) || ir::hasErrors(targetModule.diagnostics) ||
        kernelModule.module.kernels.empty() || targetModule.module.targets.empty()) {
        error = which + ": the project's kernel or target text no longer checks";
        return std::nullopt;
    }
    ResolvedSchedule r;
    r.id = record.id;
    r.kernel = kernelModule.module.kernels.front();
    r.target = targetModule.module.targets.front();
    const auto mapped = mapping::mapKernel(r.kernel, r.target);
    const auto found = std::find_if(mapped.candidates.begin(), mapped.candidates.end(),
                                    [&](const mapping::Candidate& c) { return c.key == record.candidateKey; });
    if (found == mapped.candidates.end() || !found->valid) {
        error = which + " uses candidate '" + record.candidateKey + "', which the mapper no longer finds";
        return std::nullopt;
    }
    r.candidate = *found;
    auto space = schedule::makeSpace(r.kernel, r.target, r.candidate, error);
    auto s = space ? schedule::parseSchedule(*space, record.text, error) : std::nullopt;
    if (!s) {
        error = which + ": " + error;
        return std::nullopt;
    }
    r.space = std::move(*space);
    r.schedule = std::move(*s);
    return r;
}

namespace {

// Kernels, targets and their candidates; gives the new ids of the old ones.
bool copyDefinitions(const store::Project& from, store::Project& to, std::map<std::int64_t, std::int64_t>& kernelIds,
                     std::map<std::int64_t, std::int64_t>& targetIds, std::string& error) {
    auto kernels = from.kernels(error);
    auto targets = kernels ? from.targets(error) : std::nullopt;
    if (!targets)
        return false;
    for (const auto& k : *kernels) {
        auto id = to.addKernel(k.name, k.text, error);
        if (!id)
            return false;
        kernelIds[k.id] = *id;
    }
    for (const auto& t : *targets) {
        auto id = to.addTarget(t.name, t.text, error);
        if (!id)
            return false;
        targetIds[t.id] = *id;
    }
    for (const auto& k : *kernels)
        for (const auto& t : *targets) {
            auto candidates = from.candidates(k.id, t.id, error);
            if (!candidates)
                return false;
            if (!candidates->empty() && !to.addCandidates(kernelIds[k.id], targetIds[t.id], *candidates, error))
                return false;
        }
    return true;
}

} // namespace

bool copyProject(const std::string& source, const std::string& destination, std::string& error) {
    std::error_code ec;
    if (std::filesystem::exists(destination, ec) && !std::filesystem::remove(destination, ec)) {
        error = "cannot replace " + destination + ": " + ec.message();
        return false;
    }
    auto from = store::Project::open(source, error);
    if (!from)
        return false;
    auto to = store::Project::open(destination, error);
    if (!to)
        return false;
    std::map<std::int64_t, std::int64_t> kernelIds, targetIds, runIds{{0, 0}};
    if (!copyDefinitions(*from, *to, kernelIds, targetIds, error))
        return false;
    auto runs = from->runs(error);
    if (!runs)
        return false;
    for (auto run : *runs) {
        const std::int64_t old = run.id;
        run.kernelId = kernelIds[run.kernelId];
        run.targetId = targetIds[run.targetId];
        auto id = to->startRun(run, error);
        if (!id || !to->updateRun(*id, run.status, run.evaluations, run.bestSeconds, error))
            return false;
        // A finished run is closed again; its end time becomes the time of the copy.
        if (run.status != "running" && !to->finishRun(*id, run.status, error))
            return false;
        runIds[old] = *id;
    }
    auto schedules = from->schedules({}, error);
    if (!schedules)
        return false;
    std::vector<store::ScheduleRecord> renumbered = *schedules;
    for (auto& s : renumbered) {
        s.runId = runIds[s.runId];
        s.kernelId = kernelIds[s.kernelId];
        s.targetId = targetIds[s.targetId];
    }
    auto ids = to->addSchedules(renumbered, error);
    if (!ids)
        return false;
    for (std::size_t i = 0; i < schedules->size(); ++i) {
        auto measurements = from->measurements((*schedules)[i].id, error);
        if (!measurements)
            return false;
        for (auto m : *measurements) {
            m.scheduleId = (*ids)[i];
            if (!to->addMeasurement(m, error))
                return false;
        }
    }
    return true;
}

std::string projectSourceText(const ProjectContents& project) {
    std::set<std::string> bundled;
    for (const auto& t : targets::bundledTargets())
        bundled.insert(t.name);
    std::string text = "# The kernels of project " + std::filesystem::path(project.path).filename().string() + "\n";
    std::set<std::string> seen;
    // Latest first, so that a kernel stored again with other parameters shows as it was last used.
    for (auto k = project.kernels.rbegin(); k != project.kernels.rend(); ++k)
        if (seen.insert(k->name).second)
            text += "\n" + k->text;
    for (auto t = project.targets.rbegin(); t != project.targets.rend(); ++t)
        if (!bundled.count(t->name) && seen.insert("target " + t->name).second)
            text += "\n" + t->text;
    return text;
}

// ---- the table ---------------------------------------------------------------------------------

ProjectModel::ProjectModel(QObject* parent) : QAbstractTableModel(parent) {}

void ProjectModel::setContents(ProjectContents contents) {
    beginResetModel();
    contents_ = std::move(contents);
    endResetModel();
}

void ProjectModel::clear() { setContents({}); }

int ProjectModel::rowOf(std::int64_t scheduleId) const {
    for (std::size_t i = 0; i < contents_.schedules.size(); ++i)
        if (contents_.schedules[i].record.id == scheduleId)
            return static_cast<int>(i);
    return -1;
}

int ProjectModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(contents_.schedules.size());
}

int ProjectModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant ProjectModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const auto& s = contents_.schedules[static_cast<std::size_t>(index.row())];
    if (role == ScheduleIdRole)
        return QVariant::fromValue<qint64>(s.record.id);
    if (role == SortRole) {
        switch (index.column()) {
        case Id: return QVariant::fromValue<qint64>(s.record.id);
        case Run: return QVariant::fromValue<qint64>(s.record.runId);
        case Modeled: return s.record.modeledSeconds;
        case Measured: return s.measured ? *s.measured : -1.0;
        default: return data(index, Qt::DisplayRole);
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Measured && s.measured)
        return tr("measured on the %1").arg(QString::fromStdString(s.measuredKind));
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Id: return QVariant::fromValue<qint64>(s.record.id);
    case Run: return s.record.runId ? QVariant::fromValue<qint64>(s.record.runId) : QVariant(tr("by hand"));
    case Kernel: return QString::fromStdString(s.kernel);
    case Target: return QString::fromStdString(s.target);
    case Modeled: return durationText(s.record.modeledSeconds);
    case Measured: return s.measured ? durationText(*s.measured) : QString();
    case Bound: return QString::fromStdString(s.record.bound);
    case Candidate: return QString::fromStdString(s.record.candidateKey);
    default: return {};
    }
}

QVariant ProjectModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Id: return tr("Id");
    case Run: return tr("Run");
    case Kernel: return tr("Kernel");
    case Target: return tr("Target");
    case Modeled: return tr("Modeled");
    case Measured: return tr("Measured");
    case Bound: return tr("Bound");
    case Candidate: return tr("Candidate");
    default: return {};
    }
}

} // namespace isamap::views
