// The one selection every view shares: a kernel (by name), a mapping candidate (by key) and a stored
// schedule (by id). A view that selects something calls a setter; every view listens to `changed` and
// shows the same thing. Setters that change nothing emit nothing, so views that echo a selection back
// do not loop.
//
//   views::Selection selection;
//   connect(&selection, &views::Selection::changed, table, [&] { table->select(selection.candidate()); });
//   selection.selectCandidate("pointwise", "mma32: i=k, j=hw, k=c; ...");
#pragma once

#include <QObject>
#include <QString>

namespace isamap::views {

class Selection : public QObject {
    Q_OBJECT
public:
    explicit Selection(QObject* parent = nullptr) : QObject(parent) {}

    const QString& kernel() const { return kernel_; }
    const QString& candidate() const { return candidate_; }
    qint64 scheduleId() const { return scheduleId_; } // 0: none

    // A kernel alone: the candidate and schedule are forgotten.
    void selectKernel(const QString& kernel) { set(kernel, {}, 0); }
    // A candidate of a kernel: a schedule of another candidate is forgotten.
    void selectCandidate(const QString& kernel, const QString& candidate) {
        set(kernel, candidate, candidate == candidate_ && kernel == kernel_ ? scheduleId_ : 0);
    }
    void selectSchedule(qint64 id, const QString& kernel, const QString& candidate) { set(kernel, candidate, id); }

signals:
    void changed();

private:
    void set(const QString& kernel, const QString& candidate, qint64 id) {
        if (kernel == kernel_ && candidate == candidate_ && id == scheduleId_)
            return;
        kernel_ = kernel;
        candidate_ = candidate;
        scheduleId_ = id;
        emit changed();
    }

    QString kernel_;
    QString candidate_;
    qint64 scheduleId_ = 0;
};

} // namespace isamap::views
