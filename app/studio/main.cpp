// isamap-studio: the desktop IDE. A thin main: options, then the main window.
#include "main_window.h"

#include "support/resources.h"

#include <QApplication>
#include <QCommandLineParser>
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
    window.show();

    if (options.isSet(screenshot)) {
        const QString out = options.value(screenshot);
        QTimer::singleShot(500, &window, [&window, out] {
            const bool saved = window.grab().save(out);
            QApplication::exit(saved ? 0 : 1);
        });
    }
    return app.exec();
}
