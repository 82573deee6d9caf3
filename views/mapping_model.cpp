#include "views/mapping_model.h"

#include <QFont>
#include <algorithm>

#include <QBrush>
#include <QColor>

namespace isamap::views {

namespace {
QString text(const std::string& s) { return QString::fromStdString(s); }

QString bindingText(const mapping::Candidate& c, const ir::Kernel& k) {
    QStringList parts;
    for (const auto& d : c.dims)
        parts << text(d.instructionDim + "=" + d.expression(k));
    return parts.join("  ");
}

QString operandsText(const mapping::Candidate& c) {
    QStringList parts;
    for (const auto& o : c.operands)
        parts << text(o.instructionOperand + "=" + o.kernelTensor);
    return parts.join(" ");
}

QString percent(double fraction) { return QString::number(fraction * 100, 'f', 1) + "%"; }
} // namespace

MappingModel::MappingModel(QObject* parent) : QAbstractTableModel(parent) {}

void MappingModel::setResult(const ir::Kernel& kernel, mapping::MappingResult result) {
    beginResetModel();
    kernel_ = kernel;
    result_ = std::move(result);
    endResetModel();
}

void MappingModel::setRules(const std::string& pinned, const std::vector<std::string>& forbidden) {
    pinned_ = pinned;
    forbidden_ = forbidden;
    if (rowCount() > 0)
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

void MappingModel::clear() {
    beginResetModel();
    result_ = {};
    endResetModel();
}

const mapping::Candidate* MappingModel::candidate(int row) const {
    if (row < 0 || row >= rowCount())
        return nullptr;
    return &result_.candidates[static_cast<std::size_t>(row)];
}

QString MappingModel::details(int row) const {
    const auto* c = candidate(row);
    if (!c)
        return {};
    QString out = QStringLiteral("<b>%1</b> %2<br>").arg(text(c->instruction), bindingText(*c, kernel_).toHtmlEscaped());
    if (!c->valid)
        return out + tr("Rejected: %1").arg(text(c->reason).toHtmlEscaped());
    out += tr("Utilisation %1, padding %2, %3 calls").arg(percent(c->utilisation), percent(c->padding)).arg(c->calls);
    for (const auto& change : c->layoutChanges)
        out += "<br>" + tr("Layout: %1").arg(text(change).toHtmlEscaped());
    if (!c->outerLoops.empty()) {
        QStringList loops;
        for (const auto& l : c->outerLoops)
            loops << text(l);
        out += "<br>" + tr("Loops around the instruction: %1").arg(loops.join(", "));
    }
    return out;
}

int MappingModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(result_.candidates.size());
}

int MappingModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant MappingModel::data(const QModelIndex& index, int role) const {
    const auto* c = candidate(index.row());
    if (!c || index.column() >= ColumnCount)
        return {};
    if (role == ValidRole)
        return c->valid;
    const bool forbidden = std::find(forbidden_.begin(), forbidden_.end(), c->key) != forbidden_.end();
    if (role == Qt::FontRole && (forbidden || c->key == pinned_)) {
        QFont font;
        font.setStrikeOut(forbidden);
        font.setBold(c->key == pinned_);
        return font;
    }
    if (role == Qt::DisplayRole && index.column() == Status && (forbidden || c->key == pinned_))
        return (forbidden ? tr("forbidden; ") : tr("pinned; ")) + data(index, SortRole).toString();
    if (role == Qt::ForegroundRole && !c->valid)
        return QBrush(QColor(120, 120, 120));
    if (role == Qt::ToolTipRole)
        return details(index.row());
    if (role == SortRole) {
        switch (index.column()) {
        case Id: return c->id;
        case Padding: return c->padding;
        case Utilisation: return c->utilisation;
        default: break;
        }
    }
    if (role != Qt::DisplayRole && role != SortRole)
        return {};
    switch (index.column()) {
    case Id: return c->id;
    case Instruction: return text(c->instruction) + (c->symmetricCount > 1 ? QStringLiteral(" (x%1)").arg(c->symmetricCount) : "");
    case Binding: return bindingText(*c, kernel_);
    case Operands: return operandsText(*c);
    case Padding: return c->valid ? percent(c->padding) : QString();
    case Utilisation: return c->valid ? percent(c->utilisation) : QString();
    case Status: return c->valid ? (c->dominated ? tr("valid (improved on above)") : tr("valid")) : tr("rejected: %1").arg(text(c->reason));
    default: return {};
    }
}

QVariant MappingModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* names[] = {"Id", "Instruction", "Binding", "Operands", "Padding", "Utilisation", "Status"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

} // namespace isamap::views
