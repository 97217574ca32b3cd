#include "report/Report.h"

#include <algorithm>
#include <cmath>

namespace radmark::report {

bool Cell::isUndefinedNumber() const {
    return value && !std::isfinite(*value);
}

bool Table::hasUndefinedNumber() const {
    return std::any_of(rows.begin(), rows.end(), [](const std::vector<Cell>& row) {
        return std::any_of(row.begin(), row.end(),
                           [](const Cell& cell) { return cell.isUndefinedNumber(); });
    });
}

std::optional<Quartiles> quartiles(const std::vector<double>& values) {
    std::vector<double> finite;
    finite.reserve(values.size());
    for (double value : values)
        if (std::isfinite(value))
            finite.push_back(value);
    if (finite.empty())
        return std::nullopt;
    std::sort(finite.begin(), finite.end());
    const auto at = [&](double fraction) {
        const double position = fraction * static_cast<double>(finite.size() - 1);
        const auto below = static_cast<std::size_t>(std::floor(position));
        const std::size_t above = std::min(below + 1, finite.size() - 1);
        const double weight = position - static_cast<double>(below);
        return finite[below] + weight * (finite[above] - finite[below]);
    };
    Quartiles result;
    result.first = at(0.25);
    result.median = at(0.5);
    result.third = at(0.75);
    result.count = finite.size();
    result.undefined = values.size() - finite.size();
    return result;
}

} // namespace radmark::report
