// The problems list: one row per diagnostic (severity, location, message), for a table view.
#pragma once

#include "ir/diagnostics.h"

#include <QAbstractTableModel>
#include <vector>

namespace isamap::views {

class DiagnosticsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Severity, Location, Message, ColumnCount };
    enum Role { LineRole = Qt::UserRole + 1, ColumnRole };

    explicit DiagnosticsModel(QObject* parent = nullptr);
    void setDiagnostics(std::vector<ir::Diagnostic> diagnostics);
    const ir::Diagnostic& diagnostic(int row) const { return diagnostics_.at(static_cast<std::size_t>(row)); }
    int errorCount() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<ir::Diagnostic> diagnostics_;
};

} // namespace isamap::views
