// Running the isamap executable from a test, as a user would, and files for it to read.
#pragma once

#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

namespace isamap::testing {

struct Outcome {
    int status = -1; // the exit code; -1 when it crashed or did not finish
    QString out;
    QString err;
};

inline Outcome isamapCli(const QStringList& args, const QByteArray& input = {}, int timeoutMs = 120000) {
    QProcess p;
    p.start(ISAMAP_CLI, args);
    if (!input.isEmpty())
        p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return {};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

inline QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& text) {
    QFile f(dir.filePath(name));
    f.open(QIODevice::WriteOnly);
    f.write(text);
    return f.fileName();
}

} // namespace isamap::testing
