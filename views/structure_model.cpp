#include "views/structure_model.h"

#include "ir/printer.h"

namespace isamap::views {

namespace {

QString text(const std::string& s) { return QString::fromStdString(s); }

QStandardItem* makeItem(const QString& label, const QString& detail, const ir::SourceLoc& loc) {
    auto* it = new QStandardItem(label);
    it->setEditable(false);
    it->setData(loc.line, StructureModel::LineRole);
    it->setToolTip(detail.isEmpty() ? label : detail);
    return it;
}

QList<QStandardItem*> row(const QString& label, const QString& detail, const ir::SourceLoc& loc) {
    auto* second = new QStandardItem(detail);
    second->setEditable(false);
    second->setData(loc.line, StructureModel::LineRole);
    return {makeItem(label, detail, loc), second};
}

QString valueText(const ir::SizeExpr& e, const ir::ParamValues& params) {
    auto v = ir::evaluate(e, params);
    QString written = text(ir::print(e));
    if (!v)
        return written;
    QString number = QString::number(*v);
    return number == written ? number : QStringLiteral("%1 = %2").arg(written, number);
}

QString shapeText(const ir::TensorDecl& t, const ir::ParamValues& params) {
    QStringList dims;
    for (const auto& e : t.shape) {
        auto v = ir::evaluate(e, params);
        dims << (v ? QString::number(*v) : text(ir::print(e)));
    }
    return QStringLiteral("%1 %2[%3]").arg(text(std::string(ir::roleName(t.role))),
                                           text(std::string(ir::typeName(t.type))), dims.join(", "));
}

void addKernelBody(QStandardItem* parent, const ir::Kernel& k) {
    const auto params = k.paramValues();
    auto* dims = makeItem(QObject::tr("dimensions"), {}, k.loc);
    for (const auto& d : k.dims)
        dims->appendRow(row(text(d.name), (d.reduction ? QObject::tr("reduce < ") : QStringLiteral("< ")) +
                                              valueText(d.extent, params),
                            d.loc));
    parent->appendRow(dims);
    auto* tensors = makeItem(QObject::tr("tensors"), {}, k.loc);
    for (const auto& t : k.tensors) {
        QString detail = shapeText(t, params);
        if (!t.memory.empty())
            detail += " @ " + text(t.memory);
        tensors->appendRow(row(text(t.name), detail, t.loc));
    }
    parent->appendRow(tensors);
    auto* statements = makeItem(QObject::tr("statements"), {}, k.loc);
    for (const auto& s : k.statements)
        statements->appendRow(row(text(ir::print(s)), {}, s.loc));
    parent->appendRow(statements);
}

QString paramsText(const std::vector<ir::Param>& params) {
    QStringList parts;
    for (const auto& p : params)
        parts << QStringLiteral("%1=%2").arg(text(p.name)).arg(p.value);
    return parts.join(" ");
}

} // namespace

StructureModel::StructureModel(QObject* parent) : QStandardItemModel(parent) {
    setHorizontalHeaderLabels({tr("Name"), tr("Detail")});
}

void StructureModel::setModule(const ir::Module& module) {
    removeRows(0, rowCount());
    for (const auto& k : module.kernels) {
        auto r = row(tr("kernel %1").arg(text(k.name)), paramsText(k.params), k.loc);
        addKernelBody(r.front(), k);
        appendRow(r);
    }
    for (const auto& g : module.graphs) {
        auto r = row(tr("graph %1").arg(text(g.name)), paramsText(g.params), g.loc);
        auto* tensors = makeItem(tr("tensors"), {}, g.loc);
        for (const auto& t : g.tensors)
            tensors->appendRow(row(text(t.name), shapeText(t, g.paramValues()), t.loc));
        r.front()->appendRow(tensors);
        auto* nodes = makeItem(tr("nodes"), {}, g.loc);
        for (const auto& n : g.nodes)
            nodes->appendRow(row(text(n.name), tr("calls %1").arg(text(n.kernel)), n.loc));
        r.front()->appendRow(nodes);
        appendRow(r);
    }
    for (const auto& t : module.targets) {
        auto r = row(tr("target %1").arg(text(t.name)), {}, t.loc);
        auto* memories = makeItem(tr("memories"), {}, t.loc);
        for (const auto& m : t.memories)
            memories->appendRow(row(text(m.name),
                                    text(ir::formatQuantity(ir::Quantity::Bytes, static_cast<double>(m.bytes)) + ", " +
                                         ir::formatQuantity(ir::Quantity::Bandwidth, m.bandwidth)),
                                    m.loc));
        r.front()->appendRow(memories);
        auto* units = makeItem(tr("units"), {}, t.loc);
        for (const auto& u : t.units)
            units->appendRow(row(text(u.name),
                                 tr("%1 x %2").arg(u.count).arg(text(ir::formatQuantity(ir::Quantity::Frequency, u.clock))),
                                 u.loc));
        r.front()->appendRow(units);
        auto* instructions = makeItem(tr("instructions"), {}, t.loc);
        for (const auto& ins : t.instructions) {
            auto insRow = row(text(ins.name), text(ins.body.statements.empty() ? "" : ir::print(ins.body.statements.front())),
                          ins.loc);
            addKernelBody(insRow.front(), ins.body);
            instructions->appendRow(insRow);
        }
        r.front()->appendRow(instructions);
        appendRow(r);
    }
}

} // namespace isamap::views
