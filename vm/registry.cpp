// Helper registry and fault names: the small, non-hot parts of the public vm.h API.
#include <algorithm>
#include <fmt/format.h>

#include "tcbpf/vm.h"

namespace tcbpf::vm {

void HelperRegistry::add(int32_t id, std::string name, HelperFn fn) {
    if (fn == nullptr) throw Error(fmt::format("helper {} ({}) has no function", id, name));
    if (id < 0) throw Error(fmt::format("helper {} has a negative id {}", name, id));
    if (const Helper* existing = find(id))
        throw Error(fmt::format("helper id {} registered twice ({} and {})", id, existing->name, name));
    helpers_.push_back(Helper{id, std::move(name), fn});
}

std::vector<HelperFn> HelperRegistry::callx_table() const {
    int32_t max_id = -1;
    for (const Helper& helper : helpers_)
        if (helper.id >= 0 && helper.id < kCallxIdLimit) max_id = std::max(max_id, helper.id);
    std::vector<HelperFn> table(static_cast<size_t>(max_id + 1), nullptr);
    for (const Helper& helper : helpers_)
        if (helper.id >= 0 && helper.id < kCallxIdLimit) table[static_cast<size_t>(helper.id)] = helper.fn;
    return table;
}

const Helper* HelperRegistry::find(int32_t id) const {
    for (const Helper& helper : helpers_)
        if (helper.id == id) return &helper;
    return nullptr;
}

const char* fault_name(Fault fault) {
    switch (fault) {
        case Fault::None: return "none";
        case Fault::OutOfBounds: return "out of bounds";
        case Fault::ReadOnly: return "read-only";
        case Fault::CallDepth: return "call depth";
        case Fault::UnknownHelper: return "unknown helper";
        case Fault::InstructionBudget: return "instruction budget";
        case Fault::BadCallTarget: return "bad call target";
    }
    return "invalid fault";
}

}  // namespace tcbpf::vm
