#include "views/diagnostics_model.h"

#include <QBrush>
#include <QColor>

namespace isamap::views {

DiagnosticsModel::DiagnosticsModel(QObject* parent) : QAbstractTableModel(parent) {}

void DiagnosticsModel::setDiagnostics(std::vector<ir::Diagnostic> diagnostics) {
    beginResetModel();
    diagnostics_ = std::move(diagnostics);
    endResetModel();
}

int DiagnosticsModel::errorCount() const {
    int n = 0;
    for (const auto& d : diagnostics_)
        n += d.severity == ir::Severity::Error;
    return n;
}

int DiagnosticsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(diagnostics_.size());
}

int DiagnosticsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant DiagnosticsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const auto& d = diagnostics_[static_cast<std::size_t>(index.row())];
    if (role == LineRole)
        return d.line;
    if (role == ColumnRole)
        return d.column;
    if (role == Qt::ForegroundRole && index.column() == Severity)
        return QBrush(d.severity == ir::Severity::Error ? QColor(190, 30, 30) : QColor(160, 110, 0));
    if (role == Qt::ToolTipRole)
        return QString::fromStdString(ir::format(d));
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Severity: return d.severity == ir::Severity::Error ? tr("error") : d.severity == ir::Severity::Warning ? tr("warning") : tr("note");
    case Location: return QStringLiteral("%1:%2:%3").arg(QString::fromStdString(d.file)).arg(d.line).arg(d.column);
    case Message:
        return d.hint.empty() ? QString::fromStdString(d.message)
                              : QString::fromStdString(d.message + " (hint: " + d.hint + ")");
    default: return {};
    }
}

QVariant DiagnosticsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Severity: return tr("Severity");
    case Location: return tr("Location");
    case Message: return tr("Message");
    default: return {};
    }
}

} // namespace isamap::views
