// isamap-studio: the desktop IDE. A thin main: options, then the main window.
#include "main_window.h"

#include "views/search_panel.h"

#include "support/resources.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTabWidget>
#include <QRegularExpression>
#include <QTimer>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("ISA Mapper Studio");
    QApplication::setApplicationName("isamap-studio");
    QApplication::setApplicationVersion("0.1.0");

    QCommandLineParser options;
    options.setApplicationDescription("ISA Mapper Studio: see and steer how a tensor computation maps onto hardware.");
    options.addHelpOption();
    options.addVersionOption();
    options.addPositionalArgument("file", "A kernel, graph or target file (.isa) to open.");
    QCommandLineOption screenshot("screenshot", "Save a picture of the window to FILE once it is shown, then quit.",
                                  "FILE");
    options.addOption(screenshot);
    QCommandLineOption view("view", "Open on the central tab VIEW: source or graph.", "VIEW");
    options.addOption(view);
    QCommandLineOption dock("dock", "Bring the dock NAME forward: problems, mappings, search or schedule.", "NAME");
    options.addOption(dock);
    QCommandLineOption search("search", "Start a schedule search for KERNEL (as the Mappings panel names it) as the "
                                        "window opens.", "KERNEL");
    options.addOption(search);
    options.process(app);

    // A screenshot shows the default layout, not the one a person last left.
    if (options.isSet(screenshot))
        QApplication::setApplicationName("isamap-studio-screenshot");
    isamap::studio::MainWindow window;
    const QStringList files = options.positionalArguments();
    const QString file = files.isEmpty()
                             ? QString::fromStdString(isamap::resourcePath("examples/dwsep_block.isa").string())
                             : files.front();
    window.openFile(file);
    if (options.value(view) == "graph")
        window.centralTabs()->setCurrentIndex(1);
    if (options.isSet(dock))
        window.raiseDock(options.value(dock));
    window.show();

    const QString out = options.value(screenshot);
    auto takeScreenshot = [&window, out] {
        const bool saved = window.grab().save(out);
        QApplication::exit(saved ? 0 : 1);
    };
    if (options.isSet(search)) {
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
        QTimer::singleShot(500, &window, takeScreenshot);
    }
    return app.exec();
}
