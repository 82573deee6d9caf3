// What a person has said about a kernel's mapping candidates from the mapping explorer: "pin" becomes a
// constraint of the constraint language (compiler/constraints/), which the search applies; "forbid"
// has no form in that language, so the studio keeps the forbidden keys beside it and leaves those
// candidates out when it chooses one.
#pragma once

#include "constraints/constraints.h"

#include <algorithm>
#include <string>
#include <vector>

namespace isamap::views {

struct CandidateRules {
    constraints::Set set;
    std::vector<std::string> forbidden; // candidate keys

    bool forbids(const std::string& key) const {
        return std::find(forbidden.begin(), forbidden.end(), key) != forbidden.end();
    }
    // Pins `key`, replacing an earlier pin: a schedule has one candidate. A pinned candidate is no longer forbidden.
    void pin(const std::string& key) {
        unpin();
        constraints::Constraint c;
        c.kind = constraints::Constraint::Kind::PinCandidate;
        c.name = key;
        c.text = "pin candidate \"" + key + "\"";
        set.items.push_back(c);
        forbidden.erase(std::remove(forbidden.begin(), forbidden.end(), key), forbidden.end());
    }
    void unpin() {
        auto& items = set.items;
        items.erase(std::remove_if(items.begin(), items.end(),
                                   [](const auto& c) { return c.kind == constraints::Constraint::Kind::PinCandidate; }),
                    items.end());
    }
    // Forbids `key`; forbidding the pinned candidate removes the pin.
    void forbid(const std::string& key) {
        if (pinned() == key)
            unpin();
        if (!forbids(key))
            forbidden.push_back(key);
    }
    std::string pinned() const {
        for (const auto& c : set.items)
            if (c.kind == constraints::Constraint::Kind::PinCandidate)
                return c.name;
        return {};
    }
    // One line per rule, as the schedule editor lists them.
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        for (const auto& c : set.items)
            out.push_back(c.text);
        for (const auto& key : forbidden)
            out.push_back("forbid candidate \"" + key + "\"");
        return out;
    }
    bool empty() const { return set.items.empty() && forbidden.empty(); }
};

} // namespace isamap::views
