#include "views/measure_panel.h"

#include "views/duration_text.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QThreadPool>
#include <QTimer>
#include <QVBoxLayout>

namespace isamap::views {

QString describeMeasurement(const measure::Result& r, double modeledSeconds) {
    if (r.status != measure::Status::Ok)
        return QObject::tr("Measurement failed (%1): %2").arg(measure::statusName(r.status), QString::fromStdString(r.message));
    QString text = QObject::tr("Measured %1 (median of %2 runs on %3 thread(s); %4 to %5), %6 GFLOP/s, %7% of the peak (%8 GFLOP/s)")
                       .arg(durationText(r.secondsMedian))
                       .arg(r.runs)
                       .arg(r.threads)
                       .arg(durationText(r.secondsMin), durationText(r.secondsMax))
                       .arg(r.gflops, 0, 'f', 1)
                       .arg(100 * r.peakFraction, 0, 'f', 0)
                       .arg(r.peakGflops, 0, 'f', 1);
    if (modeledSeconds > 0)
        text += QObject::tr("; modeled %1, measured/modeled %2").arg(durationText(modeledSeconds)).arg(r.secondsMedian / modeledSeconds, 0, 'f', 2);
    return text + "\n" + QString::fromStdString(r.verification());
}

MeasurePanel::MeasurePanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    // Inset like the schedule editor above it.
    layout->setContentsMargins(9, 0, 9, 6);
    auto* controls = new QHBoxLayout;
    measure_ = new QPushButton(tr("Measure on this CPU"), this);
    measure_->setToolTip(tr("Generate the schedule's code, check it against the interpreter and time it, in a worker process"));
    cancel_ = new QPushButton(tr("Cancel"), this);
    progress_ = new QProgressBar(this);
    controls->addWidget(measure_);
    controls->addWidget(cancel_);
    controls->addWidget(progress_, 1);
    controls->addStretch();
    layout->addLayout(controls);
    result_ = new QLabel(this);
    result_->setWordWrap(true);
    result_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(result_);
    tick_ = new QTimer(this);
    tick_->setInterval(200);
    connect(tick_, &QTimer::timeout, this, &MeasurePanel::showElapsed);
    connect(measure_, &QPushButton::clicked, this, &MeasurePanel::measureRequested);
    connect(cancel_, &QPushButton::clicked, this, &MeasurePanel::cancel);
    setRunning(false);
}

void MeasurePanel::setRunning(bool on) {
    running_ = on;
    measure_->setEnabled(!on);
    cancel_->setEnabled(on);
    // A busy bar: the worker reports no progress of its own, only its result.
    progress_->setRange(0, on ? 0 : 1);
    progress_->setValue(0);
    progress_->setTextVisible(on);
    // An idle bar would read as an empty field: it shows only while a measurement runs.
    progress_->setVisible(on);
    if (on) {
        elapsed_.start();
        tick_->start();
        showElapsed();
    } else {
        tick_->stop();
    }
}

void MeasurePanel::showElapsed() {
    progress_->setFormat(tr("generating, verifying and timing in a worker process... %1 s").arg(elapsed_.elapsed() / 1000.0, 0, 'f', 1));
}

void MeasurePanel::start(const QString& workerExecutable, const MeasureRequest& request) {
    if (running_)
        return;
    const int generation = ++generation_;
    setRunning(true);
    result_->setText(tr("Measuring the schedule of %1 on %2...").arg(QString::fromStdString(request.kernel.name),
                                                                     QString::fromStdString(request.target.name)));
    QPointer<MeasurePanel> self(this);
    QThreadPool::globalInstance()->start([self, generation, worker = workerExecutable.toStdString(), request] {
        const auto job = measure::makeJob(request.kernel, request.target, request.candidate, request.space,
                                          request.schedule, measure::Options{});
        auto result = measure::measureInWorker(worker, job);
        QMetaObject::invokeMethod(qApp, [self, generation, request, result = std::move(result)] {
            if (self && generation == self->generation_)
                self->finish(request, result);
        });
    });
}

void MeasurePanel::finish(const MeasureRequest& request, const measure::Result& result) {
    setRunning(false);
    // Named, because the editor may show another schedule by the time anyone reads it.
    const QString what = tr("%1 on %2 (%3): ").arg(QString::fromStdString(request.kernel.name),
                                                   QString::fromStdString(request.target.name),
                                                   QString::fromStdString(request.candidate.instruction));
    result_->setText(what + describeMeasurement(result, request.modeledSeconds));
    emit measured(request, result);
}

void MeasurePanel::cancel() {
    if (!running_)
        return;
    ++generation_; // the result, when it comes, belongs to no one
    setRunning(false);
    result_->setText(tr("Cancelled after %1 s; the worker's result is dropped").arg(elapsed_.elapsed() / 1000.0, 0, 'f', 1));
}

void MeasurePanel::showMessage(const QString& text) {
    if (!running_)
        result_->setText(text);
}

QString MeasurePanel::resultText() const { return result_->text(); }

} // namespace isamap::views
