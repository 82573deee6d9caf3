// The schedule editor: a schedule's tiles per memory level, the loop order of each level, double
// buffers and the loops run in parallel, edited by hand. Every edit is checked (schedule::illegal);
// an illegal one is refused with the reason and the schedule stays as it was; a legal one updates the
// modeled time and what bounds it at once, and goes on an undo stack.
#pragma once

#include "schedule/schedule.h"

#include <QWidget>
#include <optional>

class QLabel;
class QTableWidget;
class QUndoStack;

namespace isamap::views {

class ScheduleEditor : public QWidget {
    Q_OBJECT
public:
    explicit ScheduleEditor(QWidget* parent = nullptr);

    void setSchedule(const schedule::Space& space, const schedule::Schedule& s);
    bool hasSchedule() const { return space_.has_value(); }
    const schedule::Schedule& current() const { return schedule_; }
    double modeledSeconds() const { return modeled_; }
    QString message() const;
    QUndoStack* undoStack() const { return undo_; }

    // The edits, also reachable from the table; each returns false (and says why) when refused.
    bool setTile(std::size_t level, std::size_t loop, std::int64_t tile);
    bool setOrder(std::size_t level, const QStringList& loops);
    bool setDoubleBuffered(std::size_t level, bool on);
    bool setParallel(std::size_t loop, bool on);

    // Applies `s` as the current schedule without an undo entry (the undo stack's own commands use it).
    void apply(const schedule::Schedule& s);

signals:
    void scheduleChanged(double modeledSeconds);

private:
    bool tryEdit(const schedule::Schedule& edited, const QString& what);
    void rebuildTable();
    void showCost();

    std::optional<schedule::Space> space_;
    schedule::Schedule schedule_;
    double modeled_ = 0;
    QTableWidget* table_ = nullptr;
    QLabel* cost_ = nullptr;
    QLabel* message_ = nullptr;
    QUndoStack* undo_ = nullptr;
    bool rebuilding_ = false;
};

} // namespace isamap::views
