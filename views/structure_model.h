// The structure of a parsed file as a tree: kernels (dimensions with their extents, tensors,
// statements), graphs (tensors, nodes) and targets (memories, units, instructions). Each item knows
// the source line it came from, so a view can jump there.
#pragma once

#include "ir/ir.h"

#include <QStandardItemModel>

namespace isamap::views {

class StructureModel : public QStandardItemModel {
    Q_OBJECT
public:
    enum Role { LineRole = Qt::UserRole + 1 };
    explicit StructureModel(QObject* parent = nullptr);
    void setModule(const ir::Module& module);
};

} // namespace isamap::views
