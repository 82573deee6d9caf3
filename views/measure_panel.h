// Measuring one schedule on this CPU: its generated code runs in a worker process (the command-line
// tool's `isamap worker`, so a crash or a hang of generated code never takes the studio down), checked
// against the reference interpreter first, then timed (compiler/measure/). The panel runs it off the
// GUI thread with a busy bar and the time so far; Cancel abandons the result (the worker stops on its
// own, at the latest at its time limit). The outcome — time, GFLOP/s, share of the peak and the
// verification, or the mismatch, crash or timeout with its message — stays on show.
//
//   panel->start(workerPath, {kernel, target, candidate, space, schedule, modeled});
//   connect(panel, &MeasurePanel::measured, ...);   // (request, result) on the GUI thread
#pragma once

#include "ir/ir.h"
#include "mapping/mapping.h"
#include "measure/measure.h"
#include "schedule/schedule.h"

#include <QElapsedTimer>
#include <QWidget>
#include <cstdint>
#include <string>

class QLabel;
class QProgressBar;
class QPushButton;
class QTimer;

namespace isamap::views {

// Everything one measurement needs, copied when it starts so that later edits do not touch it.
struct MeasureRequest {
    ir::Kernel kernel;
    ir::Target target;
    mapping::Candidate candidate;
    schedule::Space space;
    schedule::Schedule schedule;
    double modeledSeconds = 0;
    std::string projectPath; // where to keep the result; empty: nowhere
};

// The result in words: the figures and the verification line, or the failure and its message.
QString describeMeasurement(const measure::Result& result, double modeledSeconds);

class MeasurePanel : public QWidget {
    Q_OBJECT
public:
    explicit MeasurePanel(QWidget* parent = nullptr);

    void start(const QString& workerExecutable, const MeasureRequest& request);
    // Abandons the running measurement: its result, when it comes, is dropped.
    void cancel();
    // Shows a message in place of a result (why a measurement cannot start).
    void showMessage(const QString& text);
    bool running() const { return running_; }
    QString resultText() const;

    QPushButton* measureButton() const { return measure_; }
    QPushButton* cancelButton() const { return cancel_; }
    QProgressBar* progressBar() const { return progress_; }

signals:
    // The Measure button: the window answers with start() for the schedule in the editor.
    void measureRequested();
    void measured(const isamap::views::MeasureRequest& request, const isamap::measure::Result& result);

private:
    void setRunning(bool on);
    void showElapsed();
    void finish(const MeasureRequest& request, const measure::Result& result);

    QPushButton* measure_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* result_ = nullptr;
    QTimer* tick_ = nullptr;
    QElapsedTimer elapsed_;
    bool running_ = false;
    int generation_ = 0;
};

} // namespace isamap::views
