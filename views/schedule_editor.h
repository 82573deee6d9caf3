// The schedule editor: a schedule's tiles per memory level, the loop order of each level (drag a loop
// to reorder), which operands keep a copy at each level, double buffers and the loops run in
// parallel, edited by hand, with the active constraints listed above. Every edit is checked (schedule::illegal);
// an illegal one is refused with the reason and the schedule stays as it was; a legal one updates the
// modeled time and what bounds it at once, and goes on an undo stack.
#pragma once

#include "schedule/schedule.h"
#include "views/candidate_rules.h"

#include <QWidget>
#include <functional>
#include <optional>

class QLabel;
class QListWidget;
class QTableWidget;
class QUndoStack;

namespace isamap::views {

class ScheduleEditor : public QWidget {
    Q_OBJECT
public:
    explicit ScheduleEditor(QWidget* parent = nullptr);

    void setSchedule(const schedule::Space& space, const schedule::Schedule& s);
    bool hasSchedule() const { return space_.has_value(); }
    const std::optional<schedule::Space>& space() const { return space_; }
    const schedule::Schedule& current() const { return schedule_; }
    double modeledSeconds() const { return modeled_; }
    QString message() const;
    QUndoStack* undoStack() const { return undo_; }

    // The edits, also reachable from the table; each returns false (and says why) when refused.
    bool setTile(std::size_t level, std::size_t loop, std::int64_t tile);
    bool setOrder(std::size_t level, const QStringList& loops);
    // Moves the loop at position `from` of a level's order to position `to` (what a drag does).
    bool moveLoop(std::size_t level, int from, int to);
    bool setKeeps(std::size_t level, std::size_t operand, bool on);
    bool setDoubleBuffered(std::size_t level, bool on);
    bool setParallel(std::size_t loop, bool on);
    // Whether an input is copied into micro-panels at the outermost cache level that keeps it (on a CPU).
    bool setPacked(std::size_t operand, bool on);

    // The pins and forbidden candidates in force, listed above the table.
    void setRules(const CandidateRules& rules);
    QString rulesText() const;
    // The drag-to-reorder list of a level's loops (for tests and keyboard users).
    QListWidget* orderList(std::size_t level) const;

    // Applies `s` as the current schedule without an undo entry (the undo stack's own commands use it).
    void apply(const schedule::Schedule& s);

signals:
    void scheduleChanged(double modeledSeconds);

private:
    bool tryEdit(const schedule::Schedule& edited, const QString& what);
    void rebuildTable();
    QWidget* makeOrderList(std::size_t level);
    QWidget* makeOperandToggles(const QString& prefix, bool enabled, const std::function<bool(std::size_t)>& shown,
                                const std::function<bool(std::size_t)>& checked, const std::function<void(std::size_t, bool)>& set);
    QWidget* makeKeepsToggles(std::size_t level);
    QWidget* makePackToggles();
    void showCost();

    std::optional<schedule::Space> space_;
    schedule::Schedule schedule_;
    double modeled_ = 0;
    QTableWidget* table_ = nullptr;
    QLabel* cost_ = nullptr;
    QLabel* rules_ = nullptr;
    QLabel* message_ = nullptr;
    QUndoStack* undo_ = nullptr;
    bool rebuilding_ = false;
};

} // namespace isamap::views
