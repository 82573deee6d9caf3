// The mapping explorer's table: every candidate of one kernel on one target, valid and rejected,
// one row each, with the binding, operands, padding, utilisation and the reason in words.
#pragma once

#include "ir/ir.h"
#include "mapping/mapping.h"

#include <QAbstractTableModel>

namespace isamap::views {

class MappingModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, Instruction, Binding, Operands, Padding, Utilisation, Status, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1, ValidRole };

    explicit MappingModel(QObject* parent = nullptr);
    void setResult(const ir::Kernel& kernel, mapping::MappingResult result);
    void clear();
    // Marks the pinned candidate (bold) and the forbidden ones (struck out, "forbidden" in Status).
    void setRules(const std::string& pinned, const std::vector<std::string>& forbidden);
    const mapping::Candidate* candidate(int row) const;
    int validCount() const { return result_.validCount(); }
    // Everything said about a candidate: binding, layout changes, loops around it, or why not.
    QString details(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    ir::Kernel kernel_;
    mapping::MappingResult result_;
    std::string pinned_;
    std::vector<std::string> forbidden_;
};

} // namespace isamap::views
