// isamap-studio: the desktop IDE. A thin main: options, then the main window.
#include "main_window.h"

#include "views/code_view.h"
#include "views/measure_panel.h"
#include "views/performance_view.h"
#include "views/schedule_editor.h"
#include "views/search_panel.h"

#include "support/resources.h"

#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <cstdio>
#include <QTabWidget>
#include <QRegularExpression>
#include <QTimer>

int main(int argc, char** argv) {
    QElapsedTimer sinceStart;
    sinceStart.start();
    QApplication app(argc, argv);
    QApplication::setOrganizationName("ISA Mapper Studio");
    QApplication::setApplicationName("isamap-studio");
    QApplication::setApplicationVersion("0.1.0");

    QCommandLineParser options;
    options.setApplicationDescription("ISA Mapper Studio: see and steer how a tensor computation maps onto hardware.");
    options.addHelpOption();
    options.addVersionOption();
    options.addPositionalArgument("file", "A kernel, graph or target file (.isa) or a project (.isamap) to open; "
                                          "without one the start page shows.");
    QCommandLineOption screenshot("screenshot", "Save a picture of the window to FILE once it is shown, then quit.",
                                  "FILE");
    options.addOption(screenshot);
    QCommandLineOption view("view", "Open on the central tab VIEW: start, source, graph, performance or code.", "VIEW");
    options.addOption(view);
    QCommandLineOption dock("dock", "Bring the dock NAME forward: problems, mappings, search, schedule or project.", "NAME");
    options.addOption(dock);
    QCommandLineOption plot("plot", "Show the performance plot PLOT: scatter, roofline or convergence.", "PLOT");
    options.addOption(plot);
    QCommandLineOption exitWhenShown("exit-when-shown", "Quit as soon as the window is shown and idle, printing the "
                                                        "milliseconds since the program started (for benchmarks).");
    options.addOption(exitWhenShown);
    QCommandLineOption search("search", "Start a schedule search for KERNEL (as the Mappings panel names it) as the "
                                        "window opens.", "KERNEL");
    options.addOption(search);
    QCommandLineOption target("target", "Choose the target NAME in the Mappings panel: a bundled target or host.", "NAME");
    options.addOption(target);
    QCommandLineOption codeTab("code-tab", "Show the code view's tab TAB (\"Loop nest\", \"LLVM IR\" or \"Assembly\"); "
                                          "a screenshot waits for its code.", "TAB");
    options.addOption(codeTab);
    QCommandLineOption codeFind("code-find", "Centre the code view's tab (--code-tab) on the first line with TEXT once "
                                             "its code is in.", "TEXT");
    options.addOption(codeFind);
    QCommandLineOption measure("measure", "Measure the editor's schedule on this CPU once it is shown; a screenshot "
                                          "waits for the result.");
    options.addOption(measure);
    options.process(app);

    // A screenshot shows the default layout, not the one a person last left.
    if (options.isSet(screenshot))
        QApplication::setApplicationName("isamap-studio-screenshot");
    isamap::studio::MainWindow window;
    const QStringList files = options.positionalArguments();
    if (files.isEmpty())
        window.showStartPage();
    else
        window.openFile(files.front());
    if (options.isSet(target))
        window.targetBox()->setCurrentText(options.value(target));
    if (options.isSet(codeTab))
        for (int i = 0; i < window.codeView()->tabs()->count(); ++i)
            if (window.codeView()->tabs()->tabText(i) == options.value(codeTab))
                window.codeView()->tabs()->setCurrentIndex(i);
    // The editor shows a schedule of the chosen target (the mapping runs in the background).
    auto onChosenTarget = [&window, &options, &target] {
        const auto& space = window.scheduleEditor()->space();
        const QString wanted = options.value(target);
        const QString shown = space ? QString::fromStdString(space->target) : QString();
        return space && (wanted.isEmpty() || shown == wanted || (wanted == "host" && shown.startsWith("host-")));
    };
    // Choices of view wait for a project, which is read in the background.
    auto showChosen = [&window, &options, &view, &dock, &plot] {
        if (options.isSet(view))
            window.showView(options.value(view));
        if (options.isSet(dock))
            window.raiseDock(options.value(dock));
        const QStringList plots{"scatter", "roofline", "convergence"};
        if (options.isSet(plot) && plots.contains(options.value(plot)))
            window.performanceView()->tabs()->setCurrentIndex(static_cast<int>(plots.indexOf(options.value(plot))));
    };
    showChosen();
    QObject::connect(&window, &isamap::studio::MainWindow::projectOpened, &window, showChosen);
    window.show();
    if (options.isSet(exitWhenShown)) {
        // Queued behind the first show and paint: the window is on screen and the event loop idle.
        QTimer::singleShot(0, &window, [&window, &sinceStart] {
            window.grab(); // every widget drawn once: the figure includes the first paint
            std::printf("shown after %lld ms\n", static_cast<long long>(sinceStart.elapsed()));
            std::fflush(stdout);
            QApplication::exit(0);
        });
        return app.exec();
    }

    const QString out = options.value(screenshot);
    auto takeScreenshot = [&window, out] {
        const bool saved = window.grab().save(out);
        QApplication::exit(saved ? 0 : 1);
    };
    if (options.isSet(measure)) {
        // Waits for the chosen target's schedule, measures it, and takes the picture once the result is in.
        auto* poll = new QTimer(&window);
        QObject::connect(poll, &QTimer::timeout, &window, [&window, poll, onChosenTarget] {
            if (!onChosenTarget())
                return;
            poll->stop();
            window.measureSchedule();
        });
        poll->start(200);
        if (options.isSet(screenshot))
            QObject::connect(window.measurePanel(), &isamap::views::MeasurePanel::measured, &window,
                             [&window, takeScreenshot] { QTimer::singleShot(800, &window, takeScreenshot); });
    } else if (options.isSet(codeTab) && options.isSet(screenshot)) {
        // The code of the chosen target's schedule, once every tab has it.
        QObject::connect(window.codeView(), &isamap::views::CodeView::ready, &window,
                         [&window, &options, &codeTab, &codeFind, onChosenTarget, takeScreenshot] {
                             if (!onChosenTarget())
                                 return;
                             if (options.isSet(codeFind))
                                 window.codeView()->reveal(options.value(codeTab), options.value(codeFind));
                             QTimer::singleShot(500, &window, takeScreenshot);
                         });
    } else if (options.isSet(search)) {
        // Once the mappings of the file are in, search the chosen kernel; a screenshot waits for the result
        // and then also shows the simulated timeline and the simulated-vs-modeled plot (saved beside it as
        // NAME-timeline.png and NAME-scatter.png).
        QTimer::singleShot(300, &window, [&window, &options, &search] { window.startSearch(options.value(search)); });
        if (options.isSet(screenshot))
            QObject::connect(window.searchPanel(), &isamap::views::SearchPanel::finished, &window, [&window, out] {
                QTimer::singleShot(300, &window, [&window, out] {
                    const bool saved = window.grab().save(out);
                    window.searchPanel()->showTimelineTab();
                    QTimer::singleShot(200, &window, [&window, out, saved] {
                        QString timeline = out, scatter = out;
                        timeline.replace(QRegularExpression("\\.png$"), "-timeline.png");
                        scatter.replace(QRegularExpression("\\.png$"), "-scatter.png");
                        const bool both = saved && window.grab().save(timeline);
                        window.searchPanel()->showScatterTab();
                        QTimer::singleShot(200, &window, [&window, scatter, both] {
                            QApplication::exit(both && window.grab().save(scatter) ? 0 : 1);
                        });
                    });
                });
            });
    } else if (options.isSet(screenshot)) {
        // A project is read in the background: the picture waits for it and its selected schedule.
        const bool project = !files.isEmpty() && window.projectPath().isEmpty() && files.front().endsWith(".isamap");
        if (project)
            QObject::connect(&window, &isamap::studio::MainWindow::projectOpened, &window,
                             [&window, takeScreenshot] { QTimer::singleShot(1200, &window, takeScreenshot); });
        else
            QTimer::singleShot(800, &window, takeScreenshot);
    }
    return app.exec();
}
