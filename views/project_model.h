// A project file (.isamap, compiler/store/project.h) as the studio shows it: what it holds read in one
// go (kernels, targets, runs, every stored schedule with its modeled figure and, where there is one,
// its measurement), a table model over the schedules, and the way back from a stored schedule to the
// space and schedule the editor, the code view and the plots work on.
//
//   std::string error;
//   auto contents = views::readProject("example.isamap", error); // off the GUI thread: SQLite and mapping
//   model->setContents(*contents);
//   auto resolved = views::resolveSchedule(*contents, contents->schedules[0].record, error);
//
// Reading never creates a file: a missing path is an error, unlike store::Project::open.
#pragma once

#include "ir/ir.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "store/project.h"

#include <QAbstractTableModel>
#include <optional>
#include <string>
#include <vector>

namespace isamap::views {

struct StoredSchedule {
    store::ScheduleRecord record;
    std::string kernel; // the kernel's name
    std::string target; // the target's name
    std::optional<double> measured; // seconds: the latest measurement, if any
    std::string measuredKind;       // "simulator" or "host"
};

struct ProjectContents {
    std::string path;
    std::vector<store::KernelRecord> kernels;
    std::vector<store::TargetRecord> targets;
    std::vector<store::SearchRun> runs;
    std::vector<StoredSchedule> schedules; // fastest modeled first
    const StoredSchedule* find(std::int64_t scheduleId) const;
};

std::optional<ProjectContents> readProject(const std::string& path, std::string& error);

// Everything needed to edit, print or time one stored schedule again.
struct ResolvedSchedule {
    std::int64_t id = 0;
    ir::Kernel kernel;
    ir::Target target;
    mapping::Candidate candidate;
    schedule::Space space;
    schedule::Schedule schedule;
};

// Parses the stored kernel and target, maps the kernel again to find the stored candidate, and reads the
// schedule's text for that space. Fails in words when the project's texts no longer parse or the mapper
// no longer finds the candidate.
std::optional<ResolvedSchedule> resolveSchedule(const ProjectContents& project, const store::ScheduleRecord& record,
                                                std::string& error);

// Writes `source` to a new project file at `destination` through the store's API (so the copy is
// consistent even while another process writes the source): kernels, targets, candidates, runs,
// schedules and measurements, ids renumbered as the new file assigns them.
bool copyProject(const std::string& source, const std::string& destination, std::string& error);

// The text an editor shows for a project: its kernels (the latest text of each name) and the targets
// that are not bundled with the program, so that the file checks and maps as it is.
std::string projectSourceText(const ProjectContents& project);

class ProjectModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, Run, Kernel, Target, Modeled, Measured, Bound, Candidate, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1, ScheduleIdRole };

    explicit ProjectModel(QObject* parent = nullptr);
    void setContents(ProjectContents contents);
    void clear();
    const ProjectContents& contents() const { return contents_; }
    bool hasProject() const { return !contents_.path.empty(); }
    // The row of a schedule id, or -1.
    int rowOf(std::int64_t scheduleId) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    ProjectContents contents_;
};

} // namespace isamap::views
