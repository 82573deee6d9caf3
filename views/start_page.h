// The start page: what a session begins with. The bundled examples (source files and a project),
// the projects opened recently, and the reference suites (DeepBench, MobileNet), whose entries open as
// library kernels. Activating an entry asks the window to open it; the page itself opens nothing.
#pragma once

#include <QWidget>

class QListWidget;
class QTreeWidget;
class QTreeWidgetItem;

namespace isamap::views {

class StartPage : public QWidget {
    Q_OBJECT
public:
    explicit StartPage(QWidget* parent = nullptr);

    // Paths of the files under `examplesDir` (.isa and .isamap), listed first.
    void setExamples(const QString& examplesDir);
    void setRecentProjects(const QStringList& paths);

    QListWidget* examples() const { return examples_; }
    QListWidget* recent() const { return recent_; }
    QTreeWidget* suites() const { return suites_; }
    // Loads a suite's entries into the tree (they load when a suite is first expanded).
    void expandSuite(const QString& suite);

signals:
    void openPath(const QString& path);
    void openSuiteEntry(const QString& suite, const QString& entry);

private:
    void fillSuite(QTreeWidgetItem* suiteItem);

    QListWidget* examples_ = nullptr;
    QListWidget* recent_ = nullptr;
    QTreeWidget* suites_ = nullptr;
};

} // namespace isamap::views
