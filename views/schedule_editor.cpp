#include "views/schedule_editor.h"

#include "cost/cost.h"
#include "views/duration_text.h"

#include <QCheckBox>
#include <QHeaderView>
#include <QLabel>
#include <QHBoxLayout>
#include <QListWidget>
#include <QSpinBox>
#include <QTableWidget>
#include <QUndoCommand>
#include <QUndoStack>
#include <QVBoxLayout>

namespace isamap::views {

namespace {

// One edit: the schedule before and after, so that undo and redo are exact.
class ScheduleEdit : public QUndoCommand {
public:
    ScheduleEdit(ScheduleEditor* editor, schedule::Schedule before, schedule::Schedule after, const QString& text)
        : QUndoCommand(text), editor_(editor), before_(std::move(before)), after_(std::move(after)) {}
    void undo() override { editor_->apply(before_); }
    void redo() override { editor_->apply(after_); }

private:
    ScheduleEditor* editor_;
    schedule::Schedule before_, after_;
};

} // namespace

ScheduleEditor::ScheduleEditor(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    cost_ = new QLabel(tr("Run a search, or pick a kernel and a target: the editor shows its schedule."), this);
    cost_->setWordWrap(true);
    layout->addWidget(cost_);
    rules_ = new QLabel(this);
    rules_->setWordWrap(true);
    rules_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(rules_);
    setRules({});
    table_ = new QTableWidget(this);
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    layout->addWidget(table_, 1);
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    layout->addWidget(message_);
    undo_ = new QUndoStack(this);
}

void ScheduleEditor::setSchedule(const schedule::Space& space, const schedule::Schedule& s) {
    space_ = space;
    undo_->clear();
    message_->clear();
    apply(s);
}

QString ScheduleEditor::message() const { return message_->text(); }

void ScheduleEditor::apply(const schedule::Schedule& s) {
    schedule_ = s;
    modeled_ = space_ ? cost::modeledSeconds(*space_, schedule_) : 0;
    showCost();
    // The table is rebuilt after the signal that caused the edit has returned: its widgets are replaced.
    QMetaObject::invokeMethod(this, [this] { rebuildTable(); }, Qt::QueuedConnection);
    emit scheduleChanged(modeled_);
}

bool ScheduleEditor::tryEdit(const schedule::Schedule& edited, const QString& what) {
    if (!space_)
        return false;
    if (auto why = schedule::illegal(*space_, edited)) {
        message_->setText(tr("Refused: %1: %2").arg(what, QString::fromStdString(*why)));
        // The widgets go back to the schedule as it is, once the signal that caused the edit has returned.
        QMetaObject::invokeMethod(this, [this] { rebuildTable(); }, Qt::QueuedConnection);
        return false;
    }
    message_->setText(tr("%1").arg(what));
    undo_->push(new ScheduleEdit(this, schedule_, edited, what)); // push() runs redo(), which applies it
    return true;
}

bool ScheduleEditor::setTile(std::size_t level, std::size_t loop, std::int64_t tile) {
    if (!space_ || level >= schedule_.levels.size() || loop >= space_->dims.size())
        return false;
    schedule::Schedule edited = schedule_;
    edited.levels[level].tiles[loop] = tile;
    // A level's tile may not exceed its parent's: the levels below shrink along with it.
    for (std::size_t l = level + 1; l < edited.levels.size(); ++l)
        edited.levels[l].tiles[loop] = std::min(edited.levels[l].tiles[loop], edited.levels[l - 1].tiles[loop]);
    edited.unroll[loop] = std::min(edited.unroll[loop], edited.levels.back().tiles[loop]);
    return tryEdit(edited, tr("tile of %1 at %2 = %3")
                               .arg(QString::fromStdString(space_->dims[loop].name),
                                    QString::fromStdString(space_->levels[level].memory))
                               .arg(tile));
}

bool ScheduleEditor::setOrder(std::size_t level, const QStringList& loops) {
    if (!space_ || level >= schedule_.levels.size())
        return false;
    std::vector<int> order;
    for (const auto& name : loops) {
        int index = -1;
        for (std::size_t d = 0; d < space_->dims.size(); ++d)
            if (QString::fromStdString(space_->dims[d].name) == name)
                index = static_cast<int>(d);
        if (index < 0) {
            message_->setText(tr("Refused: there is no loop '%1'").arg(name));
            QMetaObject::invokeMethod(this, [this] { rebuildTable(); }, Qt::QueuedConnection);
            return false;
        }
        order.push_back(index);
    }
    schedule::Schedule edited = schedule_;
    edited.levels[level].order = order;
    return tryEdit(edited, tr("order at %1: %2").arg(QString::fromStdString(space_->levels[level].memory), loops.join(", ")));
}

bool ScheduleEditor::moveLoop(std::size_t level, int from, int to) {
    if (!space_ || level >= schedule_.levels.size())
        return false;
    const int n = static_cast<int>(schedule_.levels[level].order.size());
    if (from < 0 || from >= n || to < 0 || to >= n)
        return false;
    QStringList loops;
    for (int d : schedule_.levels[level].order)
        loops << QString::fromStdString(space_->dims[static_cast<std::size_t>(d)].name);
    loops.move(from, to);
    return setOrder(level, loops);
}

bool ScheduleEditor::setKeeps(std::size_t level, std::size_t operand, bool on) {
    if (!space_ || level >= schedule_.levels.size() || operand >= space_->operands.size())
        return false;
    schedule::Schedule edited = schedule_;
    edited.levels[level].keeps[operand] = on;
    return tryEdit(edited, tr("%1 %2 a copy at %3")
                               .arg(QString::fromStdString(space_->operands[operand].tensor), on ? tr("keeps") : tr("keeps no"),
                                    QString::fromStdString(space_->levels[level].memory)));
}

void ScheduleEditor::setRules(const CandidateRules& rules) {
    QStringList lines;
    for (const auto& line : rules.lines())
        lines << QString::fromStdString(line).toHtmlEscaped();
    rules_->setText(lines.isEmpty() ? tr("Active constraints: none (pin or forbid a candidate from the Mappings panel's "
                                         "context menu)")
                                    : tr("Active constraints:<br>%1").arg(lines.join("<br>")));
}

QString ScheduleEditor::rulesText() const { return rules_->text(); }

QListWidget* ScheduleEditor::orderList(std::size_t level) const {
    if (level >= schedule_.levels.size() || !space_)
        return nullptr;
    return qobject_cast<QListWidget*>(table_->cellWidget(static_cast<int>(level), static_cast<int>(space_->dims.size())));
}

bool ScheduleEditor::setDoubleBuffered(std::size_t level, bool on) {
    if (!space_ || level >= schedule_.levels.size())
        return false;
    schedule::Schedule edited = schedule_;
    edited.levels[level].doubleBuffered = on;
    return tryEdit(edited, tr("%1 double-buffered: %2")
                               .arg(QString::fromStdString(space_->levels[level].memory), on ? tr("on") : tr("off")));
}

bool ScheduleEditor::setParallel(std::size_t loop, bool on) {
    if (!space_ || loop >= space_->dims.size())
        return false;
    schedule::Schedule edited = schedule_;
    edited.parallel[loop] = on;
    return tryEdit(edited, tr("%1 in parallel: %2").arg(QString::fromStdString(space_->dims[loop].name), on ? tr("on") : tr("off")));
}

bool ScheduleEditor::setPacked(std::size_t operand, bool on) {
    if (!space_ || operand >= space_->operands.size())
        return false;
    schedule::Schedule edited = schedule_;
    edited.packed.resize(space_->operands.size(), false);
    edited.packed[operand] = on;
    return tryEdit(edited, tr("%1 packed: %2").arg(QString::fromStdString(space_->operands[operand].tensor), on ? tr("on") : tr("off")));
}

void ScheduleEditor::showCost() {
    if (!space_)
        return;
    const auto b = cost::explain(*space_, schedule_);
    QString text = tr("<b>%1</b> modeled, %2 GFLOP/s. %3.").arg(durationText(b.seconds)).arg(b.gflops, 0, 'f', 1)
                       .arg(QString::fromStdString(b.bound).toHtmlEscaped());
    if (!b.held.empty())
        text += tr(" Warm: %1.").arg(QString::fromStdString(b.held).toHtmlEscaped());
    cost_->setText(text);
}

// The loops of a level as a row of chips that can be dragged into another order.
QWidget* ScheduleEditor::makeOrderList(std::size_t level) {
    auto* list = new QListWidget(table_);
    list->setFlow(QListView::LeftToRight);
    list->setDragDropMode(QAbstractItemView::InternalMove);
    list->setDefaultDropAction(Qt::MoveAction);
    list->setSpacing(2);
    list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    list->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    for (int d : schedule_.levels[level].order)
        list->addItem(QString::fromStdString(space_->dims[static_cast<std::size_t>(d)].name));
    list->setFixedHeight(list->sizeHintForRow(0) + 10);
    list->setMinimumWidth(list->count() * (list->sizeHintForColumn(0) + 8) + 8);
    // A drop moves rows in the list's model; the list's new order becomes the level's.
    connect(list->model(), &QAbstractItemModel::rowsMoved, this, [this, list, level] {
        if (rebuilding_)
            return;
        QStringList loops;
        for (int i = 0; i < list->count(); ++i)
            loops << list->item(i)->text();
        setOrder(level, loops);
    });
    return list;
}

// A row of toggles named `<prefix>-<tensor>`, one per operand `shown` takes; a toggle calls `set`.
QWidget* ScheduleEditor::makeOperandToggles(const QString& prefix, bool enabled, const std::function<bool(std::size_t)>& shown,
                                            const std::function<bool(std::size_t)>& checked,
                                            const std::function<void(std::size_t, bool)>& set) {
    auto* box = new QWidget(table_);
    auto* row = new QHBoxLayout(box);
    row->setContentsMargins(4, 0, 4, 0);
    for (std::size_t o = 0; o < space_->operands.size(); ++o) {
        if (!shown(o))
            continue;
        const QString tensor = QString::fromStdString(space_->operands[o].tensor);
        auto* toggle = new QCheckBox(tensor, box);
        toggle->setObjectName(prefix + "-" + tensor);
        toggle->setChecked(checked(o));
        toggle->setEnabled(enabled);
        connect(toggle, &QCheckBox::toggled, this, [this, o, set](bool on) {
            if (!rebuilding_)
                set(o, on);
        });
        row->addWidget(toggle);
    }
    return box;
}

// Whether the level keeps a copy of each operand's tile (the outermost level holds every tensor).
QWidget* ScheduleEditor::makeKeepsToggles(std::size_t level) {
    return makeOperandToggles(
        "keep", level > 0, [](std::size_t) { return true; }, [this, level](std::size_t o) { return schedule_.levels[level].keeps[o]; },
        [this, level](std::size_t o, bool on) { setKeeps(level, o, on); });
}

// Whether host code generation copies each input into micro-panels.
QWidget* ScheduleEditor::makePackToggles() {
    QWidget* box = makeOperandToggles(
        "pack", true, [this](std::size_t o) { return !space_->operands[o].output; },
        [this](std::size_t o) { return schedule::isPacked(schedule_, o); }, [this](std::size_t o, bool on) { setPacked(o, on); });
    box->setToolTip(tr("Copy the input into micro-panels at the outermost cache level that keeps it, as BLAS libraries pack "
                       "their panels (host code generation)"));
    return box;
}

void ScheduleEditor::rebuildTable() {
    if (!space_)
        return;
    rebuilding_ = true;
    const std::size_t nd = space_->dims.size(), nl = schedule_.levels.size();
    table_->clear();
    table_->setRowCount(static_cast<int>(nl + 2));
    table_->setColumnCount(static_cast<int>(nd + 3));
    QStringList columns;
    for (const auto& d : space_->dims)
        columns << tr("tile of %1").arg(QString::fromStdString(d.name));
    columns << tr("loop order (outermost first; drag to reorder)") << tr("keeps a copy of") << tr("double-buffered");
    table_->setHorizontalHeaderLabels(columns);
    QStringList rows;
    for (const auto& level : space_->levels)
        rows << QString::fromStdString(level.memory);
    rows << tr("parallel (outermost loops)") << tr("packed into micro-panels");
    table_->setVerticalHeaderLabels(rows);
    for (std::size_t l = 0; l < nl; ++l) {
        for (std::size_t d = 0; d < nd; ++d) {
            auto* spin = new QSpinBox(table_);
            spin->setRange(1, static_cast<int>(space_->dims[d].extent));
            spin->setValue(static_cast<int>(schedule_.levels[l].tiles[d]));
            spin->setEnabled(l > 0); // the outermost level holds the whole problem
            connect(spin, &QSpinBox::editingFinished, this, [this, spin, l, d] {
                if (!rebuilding_ && spin->value() != schedule_.levels[l].tiles[d])
                    setTile(l, d, spin->value());
            });
            table_->setCellWidget(static_cast<int>(l), static_cast<int>(d), spin);
        }
        table_->setCellWidget(static_cast<int>(l), static_cast<int>(nd), makeOrderList(l));
        table_->setCellWidget(static_cast<int>(l), static_cast<int>(nd + 1), makeKeepsToggles(l));
        auto* buffered = new QCheckBox(table_);
        buffered->setChecked(schedule_.levels[l].doubleBuffered);
        buffered->setEnabled(l > 0);
        connect(buffered, &QCheckBox::toggled, this, [this, l](bool on) {
            if (!rebuilding_)
                setDoubleBuffered(l, on);
        });
        table_->setCellWidget(static_cast<int>(l), static_cast<int>(nd + 2), buffered);
    }
    for (std::size_t d = 0; d < nd; ++d) {
        auto* parallel = new QCheckBox(table_);
        parallel->setChecked(schedule_.parallel[d]);
        connect(parallel, &QCheckBox::toggled, this, [this, d](bool on) {
            if (!rebuilding_)
                setParallel(d, on);
        });
        table_->setCellWidget(static_cast<int>(nl), static_cast<int>(d), parallel);
    }
    table_->setCellWidget(static_cast<int>(nl + 1), static_cast<int>(nd + 1), makePackToggles());
    table_->resizeColumnsToContents();
    rebuilding_ = false;
}

} // namespace isamap::views
