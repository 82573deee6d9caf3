// Times as the views show them: "7.13 us", "1.107 ms".
#pragma once

#include <QString>

namespace isamap::views {

inline QString durationText(double seconds) {
    if (seconds >= 1)
        return QString::number(seconds, 'f', 3) + " s";
    if (seconds >= 1e-3)
        return QString::number(seconds * 1e3, 'f', 3) + " ms";
    return QString::number(seconds * 1e6, 'f', 2) + " us";
}

} // namespace isamap::views
