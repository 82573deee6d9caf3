#include "views/start_page.h"

#include "frontend/suites.h"

#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QTreeWidget>

namespace isamap::views {

namespace {
constexpr int kPathRole = Qt::UserRole + 1;

QLabel* heading(const QString& text, QWidget* parent) {
    auto* label = new QLabel(QStringLiteral("<h3>%1</h3>").arg(text), parent);
    return label;
}
} // namespace

StartPage::StartPage(QWidget* parent) : QWidget(parent) {
    auto* grid = new QGridLayout(this);
    auto* title = new QLabel(tr("<h2>ISA Mapper Studio</h2>See how a tensor computation maps onto a machine's instructions, "
                                "and steer its schedule. Open an example, a recent project, or a kernel of a reference suite."),
                             this);
    title->setWordWrap(true);
    grid->addWidget(title, 0, 0, 1, 2);
    examples_ = new QListWidget(this);
    recent_ = new QListWidget(this);
    suites_ = new QTreeWidget(this);
    suites_->setHeaderLabels({tr("Suite / entry"), tr("Kernel")});
    suites_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    grid->addWidget(heading(tr("Examples"), this), 1, 0);
    grid->addWidget(examples_, 2, 0);
    grid->addWidget(heading(tr("Recent projects"), this), 3, 0);
    grid->addWidget(recent_, 4, 0);
    grid->addWidget(heading(tr("Reference suites"), this), 1, 1);
    grid->addWidget(suites_, 2, 1, 3, 1);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 1);

    for (const auto& suite : frontend::suites()) {
        auto* item = new QTreeWidgetItem(suites_, {QString::fromStdString(suite.name), QString::fromStdString(suite.summary)});
        item->setChildIndicatorPolicy(QTreeWidgetItem::ShowIndicator);
        item->setToolTip(1, QString::fromStdString(suite.summary));
    }
    auto open = [this](QListWidgetItem* item) { emit openPath(item->data(kPathRole).toString()); };
    connect(examples_, &QListWidget::itemActivated, this, open);
    connect(recent_, &QListWidget::itemActivated, this, open);
    connect(suites_, &QTreeWidget::itemExpanded, this, &StartPage::fillSuite);
    connect(suites_, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* item) {
        if (item->parent())
            emit openSuiteEntry(item->parent()->text(0), item->text(0));
    });
}

void StartPage::setExamples(const QString& examplesDir) {
    examples_->clear();
    const QDir dir(examplesDir);
    // Projects first: they open with schedules to look at.
    for (const QString& pattern : {QStringLiteral("*.isamap"), QStringLiteral("*.isa")})
        for (const QFileInfo& file : dir.entryInfoList({pattern}, QDir::Files, QDir::Name)) {
            const bool project = file.suffix() == "isamap";
            auto* item = new QListWidgetItem(project ? tr("%1 (example project: stored schedules and measurements)").arg(file.fileName())
                                                     : tr("%1 (example source)").arg(file.fileName()),
                                             examples_);
            item->setData(kPathRole, file.absoluteFilePath());
            item->setToolTip(file.absoluteFilePath());
        }
}

void StartPage::setRecentProjects(const QStringList& paths) {
    recent_->clear();
    for (const QString& path : paths) {
        auto* item = new QListWidgetItem(QFileInfo(path).fileName() + "  —  " + QFileInfo(path).absolutePath(), recent_);
        item->setData(kPathRole, path);
        item->setToolTip(path);
    }
    if (paths.isEmpty()) {
        auto* none = new QListWidgetItem(tr("No project opened yet"), recent_);
        none->setFlags(Qt::NoItemFlags);
    }
}

void StartPage::expandSuite(const QString& suite) {
    const auto found = suites_->findItems(suite, Qt::MatchExactly, 0);
    if (!found.isEmpty())
        found.front()->setExpanded(true); // fills it through itemExpanded
}

// A suite's entries come from its CSV the first time it is expanded, so that the start stays quick.
void StartPage::fillSuite(QTreeWidgetItem* suiteItem) {
    if (suiteItem->parent() || suiteItem->childCount() > 0)
        return;
    std::string error;
    auto entries = frontend::loadSuite(suiteItem->text(0).toStdString(), error);
    if (!entries) {
        new QTreeWidgetItem(suiteItem, {tr("cannot load: %1").arg(QString::fromStdString(error))});
        return;
    }
    for (const auto& e : *entries) {
        QStringList args;
        for (const auto& [name, value] : e.args)
            args << QStringLiteral("%1=%2").arg(QString::fromStdString(name)).arg(value);
        new QTreeWidgetItem(suiteItem, {QString::fromStdString(e.name),
                                        QString::fromStdString(e.generator) + " " + args.join(' ')});
    }
}

} // namespace isamap::views
